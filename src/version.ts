/** The node's version, as getnetworkinfo reports it (kept equal to package.json's). */
export const VERSION = '0.1.0';
