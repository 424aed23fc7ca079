/** A small typed event emitter (WeChat has no EventTarget, and the SDK takes no dependency). */
export class Emitter<Events extends object> {
  private readonly listeners: { [K in keyof Events]?: Array<(payload: Events[K]) => void> } = {};

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): () => void {
    const list = (this.listeners[event] ??= []);
    list.push(listener);
    return () => {
      const index = list.indexOf(listener);
      if (index >= 0) list.splice(index, 1);
    };
  }

  protected emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    for (const listener of [...(this.listeners[event] ?? [])]) {
      try {
        listener(payload);
      } catch (error) {
        // An app's listener that throws must not leave the SDK half way through a frame: report it
        // as an uncaught error, out of our stack.
        setTimeout(() => {
          throw error;
        }, 0);
      }
    }
  }
}
