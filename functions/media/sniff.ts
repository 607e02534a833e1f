/**
 * What a source file is, by its first bytes (magic numbers). The declared content type is the uploader's claim: it
 * picks the plan, but the pipeline and the decoder are chosen from the bytes. ffmpeg is given the demuxer named here
 * (`-f`) instead of probing, so a playlist, a concat list or an image sequence can never be read as one — together
 * with the `file`-only protocol whitelist (video.ts) that is what keeps the worker from reaching the network.
 */

/** Image formats as sharp names them in `metadata().format`. */
export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'tiff' | 'heif' | 'svg';

export type Sniffed =
  | { kind: 'image'; format: ImageFormat }
  /** `format` is ffmpeg's demuxer for the container; `name` is for people. */
  | { kind: 'video'; format: string; name: string }
  /** Not media upcall processes; `name` says what it looks like, for the failure message. */
  | { kind: 'other'; name: string };

/** Enough for every signature below (an `ftyp` box lists its brands within its first few hundred bytes). */
export const SNIFF_BYTES = 4096;

/** ISO BMFF brands of HEIF still images and image sequences (HEIC, AVIF): the image pipeline's. */
const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1', 'avif', 'avis']);
/** QuickTime files from before `ftyp`: the first atom is one of these. */
const QUICKTIME_ATOMS = new Set(['moov', 'mdat', 'wide', 'free', 'skip', 'pnot']);
const ASF_GUID = Buffer.from('3026b2758e66cf11a6d900aa0062ce6c', 'hex');
const TS_PACKET = 188;

const starts = (head: Buffer, bytes: number[] | string, at = 0) => {
  const expected = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes);
  return head.length >= at + expected.length && head.subarray(at, at + expected.length).equals(expected);
};

/** The head as text when it looks like text (no NUL), without a BOM and leading white space. */
function textOf(head: Buffer): string | undefined {
  if (head.includes(0)) return undefined;
  return head
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart();
}

function isoBmff(head: Buffer): Sniffed | undefined {
  if (!starts(head, 'ftyp', 4)) return undefined;
  const size = Math.min(head.readUInt32BE(0), head.length);
  const brands = [head.toString('latin1', 8, 12)];
  for (let at = 16; at + 4 <= size; at += 4) brands.push(head.toString('latin1', at, at + 4));
  // The major brand decides; a still-image major brand with video brands beside it is still an image.
  if (HEIF_BRANDS.has(brands[0] ?? '')) return { kind: 'image', format: 'heif' };
  return { kind: 'video', format: 'mov', name: 'MP4/QuickTime' };
}

function mpegTs(head: Buffer): boolean {
  const packets = Math.min(3, Math.floor(head.length / TS_PACKET));
  if (packets < 2) return false;
  for (let packet = 0; packet < packets; packet++) if (head[packet * TS_PACKET] !== 0x47) return false;
  return true;
}

/** Identify `head`, the first `SNIFF_BYTES` (or fewer, for a smaller file) of a source. */
export function sniff(head: Buffer): Sniffed {
  if (head.length === 0) return { kind: 'other', name: 'an empty file' };
  if (starts(head, [0xff, 0xd8, 0xff])) return { kind: 'image', format: 'jpeg' };
  if (starts(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { kind: 'image', format: 'png' };
  if (starts(head, 'GIF87a') || starts(head, 'GIF89a')) return { kind: 'image', format: 'gif' };
  if (starts(head, 'RIFF') && starts(head, 'WEBP', 8)) return { kind: 'image', format: 'webp' };
  if (['II*\0', 'MM\0*', 'II+\0', 'MM\0+'].some((magic) => starts(head, magic)))
    return { kind: 'image', format: 'tiff' };
  const bmff = isoBmff(head);
  if (bmff) return bmff;
  if (head.length >= 8 && QUICKTIME_ATOMS.has(head.toString('latin1', 4, 8)))
    return { kind: 'video', format: 'mov', name: 'QuickTime' };
  if (starts(head, [0x1a, 0x45, 0xdf, 0xa3]))
    return { kind: 'video', format: 'matroska', name: 'WebM/Matroska' };
  if (starts(head, 'RIFF') && starts(head, 'AVI ', 8)) return { kind: 'video', format: 'avi', name: 'AVI' };
  if (starts(head, [0x00, 0x00, 0x01, 0xba]))
    return { kind: 'video', format: 'mpeg', name: 'MPEG program stream' };
  if (mpegTs(head)) return { kind: 'video', format: 'mpegts', name: 'MPEG transport stream' };
  if (starts(head, 'FLV\x01')) return { kind: 'video', format: 'flv', name: 'FLV' };
  if (starts(head, 'OggS')) return { kind: 'video', format: 'ogg', name: 'Ogg' };
  if (head.length >= ASF_GUID.length && head.subarray(0, ASF_GUID.length).equals(ASF_GUID))
    return { kind: 'video', format: 'asf', name: 'ASF/WMV' };

  const text = textOf(head);
  if (text === undefined) return { kind: 'other', name: 'an unrecognised binary file' };
  if (text.startsWith('#EXTM3U')) return { kind: 'other', name: 'an HLS playlist' };
  if (text.startsWith('ffconcat')) return { kind: 'other', name: 'an ffmpeg concat list' };
  if (/<MPD[\s>]/.test(text)) return { kind: 'other', name: 'a DASH manifest' };
  // SVG may open with an XML declaration, comments or a doctype; libvips looks for `<svg` near the start too.
  if (text.startsWith('<') && /<svg[\s>]/.test(text)) return { kind: 'image', format: 'svg' };
  return { kind: 'other', name: 'a text file' };
}
