/**
 * The validator's signing record (consensus/types.ts PersistRecord) on disk: what it last signed
 * and its prepared certificate, so a restarted validator cannot sign a conflicting vote
 * (ARCHITECTURE example 3). The record is one small JSON file, replaced atomically: written to a
 * temp file, fsynced, renamed over the old one, then the directory is fsynced — after `save`
 * returns the record survives a kill or a power cut, and a reader sees the old or the new record,
 * never a mix.
 *
 * The prepared certificate carries the whole prepared block (~250 KB under load). It lives in its
 * own binary file beside the record, named by its SHA-256 and written (file and directory
 * fsynced) once, before the first record that names it. The
 * record holds the name and the digest, and a load refuses a certificate file that does not match.
 * Why: a round saves the record two or three times and the certificate changes at most once;
 * inlined as hex in the JSON every commit-phase save wrote and fsynced ~550 KB on the round's
 * critical path (~5 ms of a loaded node's main thread, docs/performance.md twelfth session).
 * Files of certificates no record names any more are removed once the record moved on.
 *
 * The record is written with synchronous calls: a validator persists before every vote it sends,
 * several times a round, and on a loaded node each of the seven async file operations waited for
 * the event loop (measured: 20-30 ms each, a persist ~150 ms on average and up to 5 s, the largest
 * cause of view changes under load, docs/performance.md). The synchronous calls cost well under a
 * millisecond on an idle disk (fdatasync of a small file ≈ 0.3 ms here) and never queue.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fromHex, sha256, toHex } from '../chain/hash.js';
import { decodePreparedCertificate, encodePreparedCertificate } from '../consensus/codec.js';
import type { PersistRecord, PreparedCertificate } from '../consensus/types.js';

/** File name of the signing record inside the data directory. */
export const CONSENSUS_STATE_FILE = 'consensus-state.json';

/** Version 1 inlined the certificate as hex (still read); version 2 names its file. */
const FORMAT_VERSION = 2;
const PHASES: readonly PersistRecord['phase'][] = ['pre-prepare', 'prepare', 'commit', 'view-change'];
const HEX = /^(?:[0-9a-f]{2})*$/;
const DIGEST = /^[0-9a-f]{64}$/;

/** The certificate file's name for its digest: `<record file>.prepared-<first 32 hex digits>.bin`. */
function certificateFileName(recordFile: string, digestHex: string): string {
  return `${basename(recordFile)}.prepared-${digestHex.slice(0, 32)}.bin`;
}

/** A certificate file as a version-2 record names it: its name and the SHA-256 (hex) of its bytes. */
interface CertificateFile {
  readonly file: string;
  readonly sha256: string;
}

/** Where a record's certificate is: in its own file (version 2) or inline (version 1). */
type CertificateRef = CertificateFile | { readonly inline: Uint8Array };

interface ParsedRecord {
  readonly height: number;
  readonly view: number;
  readonly phase: PersistRecord['phase'];
  readonly blockHash: Uint8Array | null;
  readonly prepared: CertificateRef | null;
}

/** The record as version-2 JSON, its certificate named by `cert` (the file written before it). */
function encodeRecord(r: PersistRecord, cert: CertificateFile | null): string {
  return JSON.stringify({
    version: FORMAT_VERSION,
    height: r.height,
    view: r.view,
    phase: r.phase,
    blockHash: r.blockHash === null ? null : toHex(r.blockHash),
    prepared: cert,
  });
}

/** Parse the JSON of a record (either version); anything else throws the "damaged" error. */
function parseRecord(text: string, file: string): ParsedRecord {
  const bad = (why: string): never => damaged(file, why);
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return bad('not JSON');
  }
  if (typeof o !== 'object' || o === null || (o.version !== 1 && o.version !== FORMAT_VERSION)) bad('unknown format version');
  const { height, view, phase, blockHash, prepared } = o;
  if (!Number.isSafeInteger(height) || (height as number) < 0) bad('height');
  if (!Number.isSafeInteger(view) || (view as number) < 0) bad('view');
  if (!PHASES.includes(phase as PersistRecord['phase'])) bad('phase');
  if (blockHash !== null && (typeof blockHash !== 'string' || blockHash.length !== 64 || !HEX.test(blockHash))) bad('blockHash');
  let ref: CertificateRef | null = null;
  if (prepared !== null && o.version === 1) {
    if (typeof prepared !== 'string' || !HEX.test(prepared)) bad('prepared');
    ref = { inline: fromHex(prepared as string) };
  } else if (prepared !== null) {
    const p = prepared as Record<string, unknown>;
    if (typeof p !== 'object' || typeof p.sha256 !== 'string' || !DIGEST.test(p.sha256) || p.file !== certificateFileName(file, p.sha256)) bad('prepared');
    ref = { file: p.file as string, sha256: p.sha256 as string };
  }
  return {
    height: height as number,
    view: view as number,
    phase: phase as PersistRecord['phase'],
    blockHash: blockHash === null ? null : fromHex(blockHash as string),
    prepared: ref,
  };
}

function damaged(file: string, why: string): never {
  throw new Error(`${file} is damaged (${why}); refusing to run a validator that may not remember what it signed`);
}

function decodeCertificate(bytes: Uint8Array, file: string): PreparedCertificate {
  try {
    return decodePreparedCertificate(bytes);
  } catch {
    return damaged(file, 'prepared certificate does not decode');
  }
}

/**
 * One validator's signing record file and the certificate files beside it. `save` remembers the
 * certificate it wrote last, so the saves of a round write the block once.
 */
export class SigningRecordFile {
  private written: (CertificateFile & { readonly cert: PreparedCertificate }) | null = null;
  /** Whether every certificate file on disk other than `written` has been removed. */
  private knowsDisk = false;

  constructor(readonly file: string) {}

  /**
   * Read the record (readRecordSync) and take charge of the files beside it: certificate files it
   * does not name are removed. Null when the file does not exist (a validator that never signed).
   */
  async load(): Promise<PersistRecord | null> {
    const read = readRecordWithFile(this.file);
    if (read === null) return null;
    // What the record on disk names, exactly (a reload after block sync replaces what this writer knew).
    this.written = read.certificate !== null && read.record.prepared !== null ? { cert: read.record.prepared, ...read.certificate } : null;
    this.removeStaleCertificates();
    this.knowsDisk = true;
    return read.record;
  }

  /** Durably replace the record (see the file comment); returns only once it is on disk. Synchronous on purpose. */
  save(record: PersistRecord): void {
    const previous = this.written;
    let next = null as typeof previous;
    if (record.prepared !== null && previous !== null && previous.cert === record.prepared) next = previous;
    else if (record.prepared !== null) {
      const bytes = encodePreparedCertificate(record.prepared);
      const digest = toHex(sha256(bytes));
      const file = certificateFileName(this.file, digest);
      if (previous?.file !== file) {
        writeFileAtomicSync(join(dirname(this.file), file), bytes);
        // Its directory entry durable before any record can name it, whatever the file system orders.
        fsyncDirectorySync(dirname(this.file));
      }
      next = { cert: record.prepared, file, sha256: digest };
    }
    writeFileDurablySync(this.file, encodeRecord(record, next === null ? null : { file: next.file, sha256: next.sha256 }) + '\n');
    this.written = next;
    // Only now does no record name the previous certificate. A writer that has not loaded or
    // saved before does not know what is on disk: it looks once.
    if (!this.knowsDisk) this.removeStaleCertificates();
    else if (previous !== null && previous.file !== next?.file) removeQuietly(join(dirname(this.file), previous.file));
    this.knowsDisk = true;
  }

  /** Remove certificate files the record does not name, and their temp files (left by a crash between the writes). */
  private removeStaleCertificates(): void {
    const dir = dirname(this.file);
    const prefix = `${basename(this.file)}.prepared-`;
    const tmpPrefix = `.${prefix}`;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if ((name.startsWith(prefix) && name !== this.written?.file) || (name.startsWith(tmpPrefix) && name.endsWith('.tmp'))) removeQuietly(join(dir, name));
    }
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone: nothing names it
  }
}

/**
 * Write `path` whole through a temp file and a rename, the data fsynced; the caller fsyncs the
 * directory afterwards. The rename matters when a file of the same digest
 * is already there and named by the record on disk: it is never seen half written.
 */
function writeFileAtomicSync(path: string, data: string | Uint8Array, mode = 0o600): void {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fd = openSync(tmp, 'wx', mode);
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    removeQuietly(tmp);
    throw err;
  }
}

/**
 * Read the record at `file` and its certificate file, without changing anything (an observer may
 * read a running validator's record this way). Null when there is no record; throws the "damaged"
 * error for anything unreadable, including a certificate file that is missing or does not match.
 */
export function readRecordSync(file: string): PersistRecord | null {
  return readRecordWithFile(file)?.record ?? null;
}

function readRecordWithFile(file: string): { record: PersistRecord; certificate: CertificateFile | null } | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const r = parseRecord(text, file);
  let prepared: PreparedCertificate | null = null;
  let certificate: CertificateFile | null = null;
  if (r.prepared !== null && 'inline' in r.prepared) prepared = decodeCertificate(r.prepared.inline, file);
  else if (r.prepared !== null) {
    certificate = r.prepared;
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(dirname(file), certificate.file));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') damaged(file, `its prepared certificate ${certificate.file} is missing`);
      throw err;
    }
    if (toHex(sha256(bytes)) !== certificate.sha256) damaged(file, `its prepared certificate ${certificate.file} does not match its digest`);
    prepared = decodeCertificate(bytes, file);
  }
  return { record: { height: r.height, view: r.view, phase: r.phase, blockHash: r.blockHash, prepared }, certificate };
}

/** Read the record at `file` (readRecordSync behind an async signature; nothing is removed). */
export async function loadRecord(file: string): Promise<PersistRecord | null> {
  return readRecordSync(file);
}

/** Durably save `record` at `file` (see SigningRecordFile.save; a fresh writer writes the certificate too). */
export function saveRecord(file: string, record: PersistRecord): void {
  new SigningRecordFile(file).save(record);
}

/** Atomic, fsynced replacement of a small file with synchronous calls: no event-loop round trip between the steps. */
export function writeFileDurablySync(file: string, text: string, mode = 0o600): void {
  writeFileAtomicSync(file, text, mode);
  fsyncDirectorySync(dirname(file));
}

/** fsync a directory, so the renames and new entries in it survive a power cut. */
function fsyncDirectorySync(dir: string): void {
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

/** Atomic, fsynced replacement of a small file (mode 0600): writeFileDurablySync behind an async signature. */
export async function writeFileDurably(file: string, text: string, mode = 0o600): Promise<void> {
  writeFileDurablySync(file, text, mode);
}
