/**
 * Exact fee-rate arithmetic. A fee rate is the fraction fee / encoded size; comparing two of
 * them by cross-multiplying bigints is exact, where a float division would round (two nodes
 * or two code paths must never disagree about which transaction pays more).
 */

/** Sign of feeA/sizeA − feeB/sizeB: −1, 0 or 1. Sizes are positive. */
export function compareFeeRate(feeA: bigint, sizeA: bigint, feeB: bigint, sizeB: bigint): number {
  const l = feeA * sizeB;
  const r = feeB * sizeA;
  return l < r ? -1 : l > r ? 1 : 0;
}

/** True when fee / size ≥ minRate (units per byte). */
export function meetsFeeRate(fee: bigint, size: number, minRate: bigint): boolean {
  return fee >= minRate * BigInt(size);
}
