/** Seeded runs, n = 10 (see suite.ts; TIMECOIN_LONG=1 selects the long range). */
import { defineSeedSuite, LONG } from './suite.js';

defineSeedSuite(
  LONG
    ? { name: 'seeds-n10-a', n: 10, first: 1, count: 1250, sigs: 'memo' }
    : { name: 'seeds-n10-a', n: 10, first: 1, count: 5, sigs: 'real' },
);
