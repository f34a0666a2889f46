/** Seeded runs, n = 4 (see suite.ts; TIMECOIN_LONG=1 selects the long range). */
import { defineSeedSuite, LONG } from './suite.js';

defineSeedSuite(
  LONG
    ? { name: 'seeds-n4-b', n: 4, first: 2001, count: 2000, sigs: 'memo' }
    : { name: 'seeds-n4-b', n: 4, first: 131, count: 130, sigs: 'real' },
);
