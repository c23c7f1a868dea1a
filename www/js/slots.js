// At most `n` of something at once (uploads on the app's and the drop page's lists): `take()`
// resolves once a slot is free, `give()` hands it to the longest waiter or frees it.
export function slots(n) {
  let active = 0;
  const waiting = [];
  return {
    take() {
      if (active < n) { active += 1; return Promise.resolve(); }
      return new Promise((r) => waiting.push(r));
    },
    give() { const next = waiting.shift(); if (next) next(); else active -= 1; },
  };
}
