/** `timecoin testnet` layout (SPEC §6): ports, bootstrap peer ids, shared genesis and API key. */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiKeyStore } from '../../rpc/apikeys.js';
import { createTestnet } from '../../src/commands/testnet.js';
import { loadConfig } from '../../src/config.js';
import { genesisBlock, readGenesisFile } from '../../src/genesis-file.js';

describe('createTestnet', () => {
  it('writes N node folders with SPEC ports, the others as bootstrap, one genesis and one key', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'timecoin-tn-')), 'tn');
    const t = await createTestnet({ validators: 3, out });
    const genesis = await readGenesisFile(join(out, 'genesis.json'));
    expect(genesis.network).toBe('testnet');
    expect(genesis.registrations!.map((r) => Buffer.from(r.operatorPublicKey).toString('hex'))).toEqual(t.nodes.map((n) => n.operatorPublicKey));
    const hash = Buffer.from(genesisBlock(genesis).hash).toString('hex');
    for (const [i, nd] of t.nodes.entries()) {
      const c = loadConfig({ flags: { datadir: nd.datadir }, env: {} });
      expect(c.network).toBe('testnet');
      expect(c.p2p.port).toBe(24100 + 2 * i);
      expect(c.rpc.port).toBe(24100 + 2 * i + 1);
      expect(c.p2p.maxPerIp).toBeGreaterThanOrEqual(3);
      expect(c.p2p.bootstrap).toEqual(t.nodes.filter((_, j) => j !== i).map((o) => `/ip4/127.0.0.1/tcp/${o.p2pPort}/p2p/${o.peerId}`));
      expect(c.operatorKeyFile).toBe(join(nd.datadir, 'operator.json'));
      expect(statSync(join(nd.datadir, 'operator.json')).mode & 0o777).toBe(0o600);
      expect(Buffer.from(genesisBlock(await readGenesisFile(join(nd.datadir, 'genesis.json'))).hash).toString('hex')).toBe(hash);
      expect(new ApiKeyStore(nd.datadir).authenticate(t.apiKey)).not.toBe(null);
    }
    const faucet = JSON.parse(readFileSync(join(out, 'faucet-wallet.json'), 'utf8')) as Record<string, string>;
    expect(Object.keys(faucet).sort()).toEqual(['address', 'privateKey', 'publicKey']);
    expect(readFileSync(join(out, 'apikey'), 'utf8').trim()).toBe(t.apiKey);
  });

  it('refuses a non-empty directory and bad counts', async () => {
    const out = mkdtempSync(join(tmpdir(), 'timecoin-tn-'));
    writeFileSync(join(out, 'x'), '');
    await expect(createTestnet({ validators: 2, out })).rejects.toThrow(/not empty/);
    await expect(createTestnet({ validators: 0, out: join(out, 'y') })).rejects.toThrow(/--validators/);
  });
});
