/**
 * Runs `run` while `maker.of` hands out what it makes changed by `change` — a test that breaks an
 * engine's private table (a mutant) or swaps it for a reference — and puts `of` back after. `change`
 * is also given `of`'s first argument (a layout, for the makers here).
 */
export function withChangedOf<A extends unknown[], C, T>(maker: { of(...args: A): C | undefined }, change: (made: C, first: A[0]) => void, run: () => T): T {
  const of = maker.of;
  try {
    maker.of = (...args: A) => {
      const made = of.apply(maker, args);
      if (made !== undefined) change(made, args[0]);
      return made;
    };
    return run();
  } finally {
    maker.of = of;
  }
}
