// One token per request: starting a request of some kind makes every earlier one of that kind
// stale, so a late answer for a model, photo, sweep or robustness run the reader has since left is
// dropped. (This replaces one hand-kept counter per kind.)

export class RequestTokens {
  #latest = new Map();

  /**
   * Starts a request of `kind` and returns its token: `token.current` stays true until another
   * request of the same kind begins or the kind is cancelled.
   */
  begin(kind) {
    const id = (this.#latest.get(kind) ?? 0) + 1;
    this.#latest.set(kind, id);
    const latest = this.#latest;
    return {
      kind,
      get current() {
        return latest.get(kind) === id;
      },
    };
  }

  /** Makes every request of these kinds stale. */
  cancel(...kinds) {
    for (const kind of kinds) this.#latest.set(kind, (this.#latest.get(kind) ?? 0) + 1);
  }
}
