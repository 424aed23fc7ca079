/**
 * The host functions the SDK uses beyond ES2017, present in WeChat's JS engine, browsers and Node alike.
 * Declared here for the SDK's own build (lib ES2017, no DOM, no Node types), so that using anything
 * else of a platform fails to compile. Not part of the root project, which has Node's declarations.
 */
declare function setTimeout(handler: () => void, ms: number): number;
declare function clearTimeout(handle: number | undefined): void;
declare function setInterval(handler: () => void, ms: number): number;
declare function clearInterval(handle: number | undefined): void;

/**
 * ES2019/2020 members that the contract's schema helpers (src/contract/operations.ts, frames.ts) use on
 * the server. The SDK imports those modules' types only, but TypeScript checks the whole file; these
 * declarations let it. The SDK itself must not call them (older WeChat engines lack them): the bundle
 * script refuses a bundle that mentions them.
 */
interface ObjectConstructor {
  fromEntries<T = unknown>(entries: Iterable<readonly [PropertyKey, T]>): { [key: string]: T };
  fromEntries(entries: Iterable<readonly unknown[]>): unknown;
}
interface String {
  matchAll(regexp: RegExp): IterableIterator<RegExpMatchArray>;
}
