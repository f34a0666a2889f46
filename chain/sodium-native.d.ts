/** The one function of sodium-native (libsodium bindings, no bundled types) that chain/ed25519.ts uses. */
declare module 'sodium-native' {
  /** libsodium crypto_sign_verify_detached: true iff `signature` (64 bytes) is valid for `message` under `publicKey` (32 bytes); throws on wrong lengths. */
  export function crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}
