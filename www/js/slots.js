// At most `n` of something at once (uploads on the app's and the drop page's lists): `take()`
// resolves once a slot is free, `give()` hands it to the longest waiter or frees it.
//
// With `bytes`, the window is also one of size: `take(size)` waits until `size` more bytes fit
// in the budget (never fewer than one at once, whatever its size), and `give(size)` hands them
// back. Small files then go many at a time, so the network is not idle between their few short
// requests, while big ones still go `big` at a time: each counts as at most `bytes / big`.
// Waiters are served in order, so a big file is never passed over forever by small ones.
export function slots(n, { bytes = Infinity, big = n } = {}) {
  const most = Math.floor(bytes / big);
  let active = 0;
  let used = 0;
  const waiting = [];
  const cost = (size) => Math.min(size || 0, most);
  const fits = (c) => active < n && (active === 0 || used + c <= bytes);
  const admit = (c) => { active += 1; used += c; };
  return {
    take(size = 0) {
      const c = cost(size);
      if (!waiting.length && fits(c)) { admit(c); return Promise.resolve(); }
      return new Promise((r) => waiting.push({ c, r }));
    },
    give(size = 0) {
      active -= 1;
      used -= cost(size);
      while (waiting.length && fits(waiting[0].c)) {
        const next = waiting.shift();
        admit(next.c);
        next.r();
      }
    },
  };
}
