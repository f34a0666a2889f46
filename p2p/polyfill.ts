/**
 * libp2p 3 calls `Promise.withResolvers` (ES2024), which Node 20 lacks: without it the first
 * dial fails inside noise with `EncryptionFailedError`. Every module that imports libp2p
 * imports this file first (ESM evaluates imports in order), so the polyfill is in place before
 * any libp2p code runs. Drop it when Node 22 becomes the minimum.
 */
interface WithResolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

const P = Promise as unknown as { withResolvers?: <T>() => WithResolvers<T> };
if (typeof P.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>(this: PromiseConstructor): WithResolvers<T> {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      // `this` keeps subclass semantics (as the spec does); fall back to Promise.
      const Ctor = (typeof this === 'function' ? this : Promise) as PromiseConstructor;
      const promise = new Ctor<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

export {};
