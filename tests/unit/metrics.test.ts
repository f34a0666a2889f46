import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Registry } from 'prom-client';
import { createMetrics, rpcMethodLabel, type Metrics } from '../../src/metrics.js';
import { droppedLogLines, NonBlockingLogDestination } from '../../src/log-destination.js';

/** SPEC §7: every required metric with its type and label names. */
const REQUIRED: [string, string, string[]][] = [
  ['consensus_rounds_total', 'counter', []],
  ['consensus_round_duration_seconds', 'histogram', []],
  ['blocks_produced_total', 'counter', []],
  ['view_changes_total', 'counter', []],
  ['byzantine_detected_total', 'counter', ['kind']],
  ['active_peers', 'gauge', []],
  ['peer_sync_lag_blocks', 'gauge', []],
  ['p2p_messages_total', 'counter', ['type', 'direction']],
  ['rate_limited_total', 'counter', ['scope']],
  ['replay_rejected_total', 'counter', []],
  ['mempool_transactions', 'gauge', []],
  ['transactions_finalized_total', 'counter', []],
  ['transaction_finality_seconds', 'histogram', []],
  ['utxo_set_size', 'gauge', []],
  ['database_size_bytes', 'gauge', []],
  ['reorg_depth', 'histogram', []],
  ['chain_height', 'gauge', []],
  ['finalized_height', 'gauge', []],
];

interface Family {
  type: string;
  help: string;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

/** A strict parser of the Prometheus text format 0.0.4 (enough to catch malformed output). */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const nameRe = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const sampleRe = new RegExp(`^(${nameRe})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`);
  const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/gy;
  const familyOf = (sample: string): Family => {
    for (const cand of [sample, sample.replace(/_(bucket|sum|count)$/, '')]) {
      const f = families.get(cand);
      if (f !== undefined) return f;
    }
    throw new Error(`sample ${sample} has no # TYPE line before it`);
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m: RegExpExecArray | null;
    if ((m = /^# HELP (\S+) (.*)$/.exec(line)) !== null) {
      families.set(m[1]!, { type: '', help: m[2]!, samples: [] });
    } else if ((m = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line)) !== null) {
      const f = families.get(m[1]!);
      if (f === undefined || f.type !== '') throw new Error(`bad TYPE line: ${line}`);
      f.type = m[2]!;
    } else if ((m = sampleRe.exec(line)) !== null) {
      const labels: Record<string, string> = {};
      const body = m[2] ?? '';
      labelRe.lastIndex = 0;
      let lm: RegExpExecArray | null;
      let consumed = 0;
      while ((lm = labelRe.exec(body)) !== null) {
        labels[lm[1]!] = lm[2]!;
        consumed = labelRe.lastIndex;
      }
      if (consumed !== body.length) throw new Error(`bad labels: ${line}`);
      // Prometheus reads values with Go's ParseFloat: NaN in any case, ±Inf.
      const raw = m[3]!;
      const value = /^nan$/i.test(raw) ? NaN : Number(raw.replace(/^([+-]?)Inf$/, '$1Infinity'));
      if (Number.isNaN(value) && !/^nan$/i.test(raw)) throw new Error(`bad value: ${line}`);
      familyOf(m[1]!).samples.push({ name: m[1]!, labels, value });
    } else {
      throw new Error(`unparsable line: ${line}`);
    }
  }
  return families;
}

function exercise(m: Metrics): void {
  m.consensusRounds.inc();
  m.consensusRoundDuration.observe(0.2);
  m.blocksProduced.inc();
  m.viewChanges.inc();
  m.byzantineDetected.inc({ kind: 'equivocation' });
  m.activePeers.set(3);
  m.peerSyncLag.set(0);
  m.p2pMessages.inc({ type: 'prepare', direction: 'in' });
  m.p2pMessages.inc({ type: 'prepare', direction: 'out' }, 2);
  m.rateLimited.inc({ scope: 'rpc' });
  m.replayRejected.inc();
  m.mempoolTransactions.set(10);
  m.transactionsFinalized.inc(5);
  m.transactionFinality.observe(1.2);
  m.utxoSetSize.set(1234);
  m.databaseSize.set(1 << 20);
  m.reorgDepth.observe(2);
  m.chainHeight.set(100);
  m.finalizedHeight.set(99);
  m.rpcRequests.inc({ method: rpcMethodLabel('getblockcount'), code: '0' });
  m.rpcRequests.inc({ method: rpcMethodLabel('evil<script>'), code: '-32601' });
  m.rpcRequestDuration.observe({ method: 'getblockcount' }, 0.002);
  m.rpcHttpResponses.inc({ status: '200' });
}

async function exposition(): Promise<string> {
  const registry = new Registry();
  exercise(createMetrics(registry));
  return registry.metrics();
}

const hasPromtool = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;

describe('metrics', () => {
  it('declares every SPEC §7 metric with the prefix, type and labels', async () => {
    const families = parseExposition(await exposition());
    for (const [name, type, labels] of REQUIRED) {
      const f = families.get(`timecoin_${name}`);
      expect(f, name).toBeDefined();
      expect(f!.type, name).toBe(type);
      expect(f!.help.length, name).toBeGreaterThan(10);
      expect(f!.samples.length, name).toBeGreaterThan(0);
      for (const s of f!.samples) {
        const own = Object.keys(s.labels).filter((l) => l !== 'le');
        expect(own.sort(), name).toEqual([...labels].sort());
      }
    }
  });

  it('counters end in _total, nothing else does, and every family is prefixed', async () => {
    const families = parseExposition(await exposition());
    for (const [name, f] of families) {
      expect(name.startsWith('timecoin_'), name).toBe(true);
      if (f.type === 'counter') expect(name.endsWith('_total'), name).toBe(true);
      else expect(name.endsWith('_total'), name).toBe(false);
    }
  });

  it('includes the Node process defaults under the prefix', async () => {
    const families = parseExposition(await exposition());
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_active_handles']) {
      expect(families.has(`timecoin_${name}`), name).toBe(true);
    }
    // gauges named *_total fail promtool's lint; their per-type gauges carry the same data
    expect(families.has('timecoin_nodejs_active_handles_total')).toBe(false);
  });

  it('records values and bounds the rpc method label to the fixed table', async () => {
    const families = parseExposition(await exposition());
    const height = families.get('timecoin_chain_height')!.samples[0]!;
    expect(height.value).toBe(100);
    const out = families.get('timecoin_p2p_messages_total')!.samples.find((s) => s.labels.direction === 'out');
    expect(out?.value).toBe(2);
    const methods = families.get('timecoin_rpc_requests_total')!.samples.map((s) => s.labels.method);
    expect(methods.sort()).toEqual(['getblockcount', 'other']);
    expect(rpcMethodLabel(undefined)).toBe('other');
    expect(rpcMethodLabel('__proto__')).toBe('other');
  });

  it('docs/metrics.md documents every timecoin metric (process defaults aside)', async () => {
    const doc = await readFile(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
    const own = [...parseExposition(await exposition()).keys()].filter((n) => !/^timecoin_(process|nodejs)_/.test(n));
    expect(own.length).toBe(REQUIRED.length + 4);
    for (const name of own) expect(doc, name).toContain(`| \`${name}\` |`);
  });

  it('log_lines_dropped_total counts every log line this process dropped', async () => {
    const registry = new Registry();
    createMetrics(registry);
    const scrape = async (): Promise<number> => parseExposition(await registry.metrics()).get('timecoin_log_lines_dropped_total')!.samples[0]!.value;
    const first = await scrape();
    expect(first).toBe(droppedLogLines());
    // A 10-byte queue bound: every line is dropped at once (to /dev/null, nothing waits).
    const dest = new NonBlockingLogDestination(openSync('/dev/null', 'w'), 10, true);
    for (let i = 0; i < 3; i++) dest.write(`${JSON.stringify({ msg: 'dropped', i })}\n`);
    dest.close();
    expect(await scrape()).toBe(first + 3);
    expect(await scrape()).toBe(first + 3);
  });

  it('declaring twice on one registry throws; two registries are independent', () => {
    const r = new Registry();
    createMetrics(r);
    expect(() => createMetrics(r)).toThrow();
    expect(() => createMetrics(new Registry())).not.toThrow();
  });

  if (!hasPromtool) console.log('metrics.test: promtool is not on PATH; skipping `promtool check metrics` (apt-get install prometheus provides it)');
  it.skipIf(!hasPromtool)('passes `promtool check metrics`', async () => {
    const res = spawnSync('promtool', ['check', 'metrics'], { input: await exposition(), encoding: 'utf8' });
    expect(`${res.stdout}${res.stderr}`.trim()).toBe('');
    expect(res.status).toBe(0);
  });
});
