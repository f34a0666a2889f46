/** Seeded runs, n = 4 (see suite.ts; TIMECOIN_LONG=1 selects the long range). */
import { defineSeedSuite, LONG } from './suite.js';

defineSeedSuite(
  LONG
    ? { name: 'seeds-n4-a', n: 4, first: 1, count: 2000, sigs: 'memo' }
    : { name: 'seeds-n4-a', n: 4, first: 1, count: 130, sigs: 'real' },
);
