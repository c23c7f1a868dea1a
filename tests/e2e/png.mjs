// PNG images for the browser tests, encoded here in Node (zlib for the one IDAT chunk), so a
// test uploads a real image the browser can decode without shipping binary fixtures: a plain
// gradient where only the shape matters (thumbnails), painted scenes that look like photos
// where a screenshot shows them (the grid view).
import { deflateSync } from 'node:zlib';

/** CRC-32 of `buf`, as PNG chunks carry it. */
function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k += 1) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** The default picture: red grows to the right, green downwards. */
const gradient = (x, y, w, h) => [(x * 255) / w, (y * 255) / h, 128];

/** A `width`×`height` RGB PNG whose pixel (x, y) is `pixel(x, y, width, height)` → [r, g, b]
 * (each clamped to 0..255). */
export function png(width, height, pixel = gradient) {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y += 1) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x += 1) {
      const [r, g, b] = pixel(x, y, width, height);
      raw[row + 1 + x * 3] = clamp(r);
      raw[row + 2 + x * 3] = clamp(g);
      raw[row + 3 + x * 3] = clamp(b);
    }
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const clamp = (v) => Math.max(0, Math.min(255, Math.round(v)));
const mix = (a, b, t) => a.map((v, i) => v + (b[i] - v) * Math.max(0, Math.min(1, t)));
const hex = (s) => [1, 3, 5].map((i) => parseInt(s.slice(i, i + 2), 16));
/** A fixed pseudo-random number in 0..1 for integer `n`: the same picture every run. */
const hash = (n) => { const s = Math.sin(n * 12.9898) * 43758.5453; return s - Math.floor(s); };

/** Scenes for `photo`: a sky from `top` to `horizon`, a `sun` (x, y, radius as fractions of the
 * width and height), ridges (far to near: base height, two waves, colour) and, below `water`,
 * the sky mirrored; or lit windows (`city`) or soft discs of light (`bokeh`). */
export const LOOKS = {
  sunset: { top: '#2b1d5c', horizon: '#ff9a3c', sun: [0.62, 0.58, 0.09, '#ffe6a0'], water: 0.64,
    ridges: [[0.6, 0.03, 0.015, '#5a2d4f'], [0.66, 0.0, 0.0, '#3a1c3d']] },
  lake: { top: '#3f8fd8', horizon: '#cfe8fa', sun: [0.2, 0.18, 0.06, '#fffbe6'], water: 0.62,
    ridges: [[0.42, 0.08, 0.03, '#7c94a8'], [0.55, 0.04, 0.02, '#2f6b3f']] },
  night: { top: '#050a1e', horizon: '#1f3b6b', sun: [0.7, 0.2, 0.06, '#f4f1d8'], stars: true,
    ridges: [[0.62, 0.07, 0.03, '#121c33'], [0.78, 0.05, 0.02, '#080d18']] },
  dunes: { top: '#5aa6e0', horizon: '#f5e2b8', sun: [0.82, 0.22, 0.05, '#fff8dc'],
    ridges: [[0.55, 0.05, 0.02, '#e0a65a'], [0.7, 0.06, 0.03, '#c9823e'], [0.86, 0.05, 0.02, '#a8612a']] },
  snow: { top: '#1d5fa8', horizon: '#d8ecff', sun: [0.25, 0.12, 0.05, '#ffffff'], peaks: true,
    ridges: [[0.45, 0.16, 0.05, '#eef4fb'], [0.7, 0.06, 0.03, '#24513a'], [0.85, 0.04, 0.02, '#173a28']] },
  meadow: { top: '#4aa3f0', horizon: '#e3f3ff', sun: [0.85, 0.15, 0.05, '#fffde8'], clouds: true,
    ridges: [[0.6, 0.05, 0.02, '#6fae4f'], [0.74, 0.05, 0.03, '#4f9a3a'], [0.9, 0.03, 0.02, '#3c7d2b']] },
  city: { top: '#1b1440', horizon: '#e8745a', sun: [0.3, 0.62, 0.12, '#ffc27a'], city: true, ridges: [] },
  bokeh: { top: '#2a0f3d', horizon: '#0d3b4f', bokeh: true, ridges: [] },
};

/** A `width`×`height` PNG of the scene `look` (a key of `LOOKS`). */
export function photo(width, height, look) {
  const s = LOOKS[look];
  const top = hex(s.top);
  const horizon = hex(s.horizon);
  const ridges = s.ridges.map(([base, a, b, colour], i) => ({ base, a, b, colour: hex(colour), phase: i * 1.7 + look.length }));
  const ridgeAt = (r, u) => {
    const wave = r.a * Math.sin(u * 7 + r.phase) + r.b * Math.sin(u * 23 + r.phase * 3);
    if (!(s.peaks && r === ridges[0])) return r.base - wave;
    // Peaks: sharp tops of uneven height instead of rolling hills.
    const tri = (t) => 1 - Math.abs((t % 1) * 2 - 1);
    return r.base - r.a * Math.max(tri(u * 1.6 + 0.2) * 1.7, tri(u * 3.1 + 0.55) * 1.1, tri(u * 5.3 + 0.1) * 0.7);
  };
  const discs = s.bokeh ? Array.from({ length: 26 }, (_, i) => ({
    x: hash(i * 3 + 1), y: hash(i * 3 + 2), r: 0.04 + hash(i * 3 + 3) * 0.1,
    colour: [['#ff6fa8', '#ffd166', '#06d6a0', '#4cc9f0', '#f77f00', '#b388ff'][i % 6]].map(hex)[0],
  })) : [];
  // Clouds: a few clusters of soft white puffs.
  const puffs = s.clouds ? Array.from({ length: 18 }, (_, i) => {
    const at = Math.floor(i / 6);
    return { x: [0.15, 0.5, 0.78][at] + (hash(i + 40) - 0.5) * 0.16, y: [0.12, 0.26, 0.09][at] + (hash(i + 60) - 0.5) * 0.04, r: 0.04 + hash(i + 80) * 0.04 };
  }) : [];
  const buildings = s.city ? Array.from({ length: 14 }, (_, i) => ({ from: i / 14, height: 0.3 + hash(i + 7) * 0.45 })) : [];
  return png(width, height, (x, y, w, h) => {
    const u = x / w;
    const v = y / h;
    const aspect = w / h;
    let c = mix(top, horizon, v / 0.65);
    if (s.sun) {
      const [sx, sy, sr, colour] = s.sun;
      const d = Math.hypot((u - sx) * aspect, v - sy) / sr;
      c = mix(c, hex(colour), d < 1 ? 1 : 0.55 / (d * d));
    }
    if (s.stars && hash(x * 7919 + y * 104729) > 0.9985) c = [235, 240, 255];
    for (const p of puffs) {
      const dist = Math.hypot((u - p.x) * aspect, (v - p.y) * 1.8) / p.r;
      if (dist < 1) c = mix(c, [255, 255, 255], 0.9 * (1 - dist ** 2));
    }
    for (const d of discs) {
      const dist = Math.hypot((u - d.x) * aspect, v - d.y) / d.r;
      if (dist < 1) c = mix(c, d.colour, 0.55 * (1 - dist ** 6));
    }
    for (const b of buildings) {
      if (u >= b.from && u < b.from + 1 / 14 - 0.006 && v > 1 - b.height) {
        const lit = (x % 14 < 6) && (y % 18 < 8) && hash(Math.floor(x / 14) * 31 + Math.floor(y / 18)) > 0.55;
        c = lit ? [255, 214, 130] : mix([24, 20, 48], [12, 10, 26], (v - (1 - b.height)) * 2);
      }
    }
    for (const r of ridges) {
      const edge = ridgeAt(r, u);
      if (v <= edge) continue;
      c = mix(r.colour, r.colour.map((q) => q * 0.7), (v - edge) * 3);
      // Snow on the peaks' tops only, rock below.
      if (s.peaks && r === ridges[0] && v > edge + 0.06 + 0.02 * Math.sin(u * 40)) c = mix([120, 132, 150], [90, 98, 112], (v - edge) * 3);
    }
    if (s.water && v > s.water) {
      // The sky above the water line, mirrored, darker, rippled.
      const mirror = s.water - (v - s.water) * 1.4 + 0.004 * Math.sin(y * 0.9);
      const above = mix(top, horizon, mirror / 0.65);
      let m = above;
      // The sun's path on the water, when it is low enough to make one.
      if (s.sun && s.sun[1] > s.water - 0.15) {
        const [sx, sy, sr, colour] = s.sun;
        const d = Math.hypot((u - sx) * aspect * 2.5, mirror - sy) / sr;
        m = mix(m, hex(colour), d < 1 ? 0.8 : 0.4 / (d * d));
      }
      c = mix(m, [10, 20, 40], 0.25 + (v - s.water));
    }
    return c;
  });
}
