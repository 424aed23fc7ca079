/**
 * The host functions the SDK uses beyond ES2017, present in WeChat's JS engine, browsers and Node alike.
 * Declared here for the SDK's own build (lib ES2017, no DOM, no Node types), so that using anything
 * else of a platform fails to compile. Not part of the root project, which has Node's declarations.
 */
declare function setTimeout(handler: () => void, ms: number): number;
declare function clearTimeout(handle: number | undefined): void;
declare function setInterval(handler: () => void, ms: number): number;
declare function clearInterval(handle: number | undefined): void;
