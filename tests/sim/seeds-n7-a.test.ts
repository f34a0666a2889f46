/** Seeded runs, n = 7 (see suite.ts; TIMECOIN_LONG=1 selects the long range). */
import { defineSeedSuite, LONG } from './suite.js';

defineSeedSuite(
  LONG
    ? { name: 'seeds-n7-a', n: 7, first: 1, count: 1750, sigs: 'memo' }
    : { name: 'seeds-n7-a', n: 7, first: 1, count: 120, sigs: 'real' },
);
