/**
 * Where a CLI command gets a key file's passphrase: a file named by a flag, an environment
 * variable, or a hidden prompt when stdin and stderr are a terminal (in that order, SPEC §6
 * precedence). The passphrase is never echoed, logged or put in an error message.
 */
import { readFileSync, statSync } from 'node:fs';

export interface PassphraseSource {
  /** `--passphrase-file` value, if given. */
  readonly file?: string | undefined;
  /** Name of the environment variable to consult, e.g. TIMECOIN_WALLET_PASSPHRASE. */
  readonly envName: string;
  /** The flag that names the file, for messages. */
  readonly fileFlag: string;
  /** What the passphrase unlocks, for the prompt and messages ("wallet", "operator key"). */
  readonly what: string;
  /** Ask twice on a terminal (for a new key file) and require both to match. */
  readonly confirm?: boolean;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

const MAX_PASSPHRASE_FILE = 4096;

/** Read a passphrase file: its content minus one trailing newline (as `echo pass > f` writes it). */
export function readPassphraseFile(file: string, flag: string): string {
  let st;
  try {
    st = statSync(file);
  } catch (err) {
    throw new Error(`cannot read ${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (!st.isFile()) throw new Error(`${flag} ${file} is not a regular file`);
  if (st.size > MAX_PASSPHRASE_FILE) throw new Error(`${flag} ${file} is larger than ${MAX_PASSPHRASE_FILE} bytes; it should hold only the passphrase`);
  const text = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  if (text === '') throw new Error(`${flag} ${file} is empty`);
  return text;
}

/** Resolve the passphrase, prompting only when nothing else gave one and a terminal is attached. */
export async function getPassphrase(src: PassphraseSource): Promise<string> {
  if (src.file !== undefined) return readPassphraseFile(src.file, src.fileFlag);
  const env = src.env ?? process.env;
  const fromEnv = env[src.envName];
  if (fromEnv !== undefined) {
    if (fromEnv === '') throw new Error(`${src.envName} is set but empty`);
    return fromEnv;
  }
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new Error(`no ${src.what} passphrase: use ${src.fileFlag} F or ${src.envName}, or run in a terminal to be asked`);
  }
  const first = await promptHidden(`${src.what} passphrase: `);
  if (first === '') throw new Error(`empty ${src.what} passphrase`);
  if (src.confirm === true) {
    const again = await promptHidden(`repeat the ${src.what} passphrase: `);
    if (again !== first) throw new Error(`the two ${src.what} passphrases differ; nothing was written`);
  }
  return first;
}

/**
 * Ask on stderr and read one line from the terminal without echo (raw mode; backspace edits,
 * Ctrl-C / Ctrl-D abort). The terminal mode is restored on every path.
 */
export function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  return new Promise<string>((resolve, reject) => {
    let buf = '';
    const done = (err: Error | null) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (err !== null) reject(err);
      else resolve(buf);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(null);
        if (ch === '\u0003' || ch === '\u0004') return done(new Error('passphrase entry aborted'));
        if (ch === '\u007f' || ch === '\b') buf = [...buf].slice(0, -1).join('');
        else if (ch >= ' ') buf += ch;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}
