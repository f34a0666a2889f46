/**
 * `npm run compose:generate`: (re)writes the repository's docker-compose.yml from the topology
 * source (src/testnet-topology.ts via src/compose-file.ts). tests/unit/compose.test.ts fails,
 * naming this command, whenever the committed file differs from what this writes.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { COMMITTED_COMPOSE, REGENERATE_COMMAND, renderCompose } from '../src/compose-file.js';
import { testnetTopology } from '../src/testnet-topology.js';

/** The text the committed docker-compose.yml must hold. */
export function committedComposeText(): string {
  const topo = testnetTopology({ validators: COMMITTED_COMPOSE.validators, mode: 'compose' });
  return renderCompose(topo, { dataDir: COMMITTED_COMPOSE.dataDir, build: COMMITTED_COMPOSE.build, generatedBy: REGENERATE_COMMAND, datadirsBy: COMMITTED_COMPOSE.datadirsBy });
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const file = join(import.meta.dirname, '..', 'docker-compose.yml');
  writeFileSync(file, committedComposeText());
  process.stderr.write(`wrote ${file}\n`);
}
