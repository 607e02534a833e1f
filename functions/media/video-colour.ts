/**
 * The colour of a transcode. Every output is 8-bit 4:2:0 (`yuv420p`), the only H.264 format every browser plays,
 * in standard dynamic range:
 * - SDR sources, 8- or 10-bit, are converted to 8 bits by scaling the range (no clipping); their colour tags carry over.
 * - HDR sources — HLG (what iPhones record, also the base layer of their Dolby Vision) and PQ (HDR10) — are tone-mapped
 *   to BT.709 SDR with `zscale` (zimg) and `tonemap`: linearised at a 100 cd/m² reference white, converted to BT.709
 *   primaries in floating point, highlights up to the content's peak compressed with the Hable curve rather than
 *   clipped, then re-encoded with the BT.709 transfer and matrix, and tagged BT.709 so players do not treat the result
 *   as HDR. The peak is the stream's MaxCLL or mastering display peak when the file states one, else 1000 cd/m² (HLG's
 *   nominal display peak, and what most HDR10 is mastered for); `tonemap` alone would not know it after `zscale`.
 * Both filters are in the static ffmpeg the build ships and in Debian's (test/media/phone-video.test.ts runs both).
 * Only values from a fixed list reach the filter graph: the probe's strings come from an uploaded file.
 */

/** The colour fields of an ffprobe video stream. */
export interface StreamColour {
  color_transfer?: string;
  color_primaries?: string;
  color_space?: string;
  color_range?: string;
  /** Stream side data: content light level (`max_content`, cd/m²) and mastering display (`max_luminance`, "n/d"). */
  side_data_list?: Array<{ max_content?: number; max_luminance?: string }>;
}

/** HDR transfer functions, by ffprobe's name (zscale uses the same names). */
const HDR_TRANSFERS = new Set(['smpte2084', 'arib-std-b67']);
/** zscale's names for the primaries and matrices HDR video uses; anything else is taken as BT.2020's. */
const PRIMARIES = new Set(['bt2020', 'bt709']);
const MATRICES = new Set(['bt2020nc', 'bt2020c', 'bt709']);

/** The brightest light the content holds, in cd/m², as the file states it (see the header). */
export function peakLuminance(stream: StreamColour): number {
  for (const entry of stream.side_data_list ?? []) {
    const [numerator, denominator = '1'] = String(entry.max_luminance ?? '').split('/');
    const stated = entry.max_content || Number(numerator) / Number(denominator);
    if (Number.isFinite(stated) && stated > 0) return Math.min(10_000, Math.max(100, stated));
  }
  return 1000;
}

export function isHdr(stream: StreamColour): boolean {
  return HDR_TRANSFERS.has(stream.color_transfer ?? '');
}

/** Filters that end every picture as 8-bit SDR, and the output options that tag it. */
export function sdrConversion(stream: StreamColour): { filters: string[]; outputOptions: string[] } {
  if (!isHdr(stream)) return { filters: ['format=yuv420p'], outputOptions: [] };
  const primaries = PRIMARIES.has(stream.color_primaries ?? '') ? stream.color_primaries : 'bt2020';
  const matrix = MATRICES.has(stream.color_space ?? '') ? stream.color_space : 'bt2020nc';
  const range = stream.color_range === 'pc' ? 'pc' : 'tv';
  return {
    filters: [
      `zscale=tin=${stream.color_transfer}:pin=${primaries}:min=${matrix}:rin=${range}:t=linear:npl=100`,
      'format=gbrpf32le',
      'zscale=p=bt709',
      `tonemap=tonemap=hable:desat=0:peak=${peakLuminance(stream) / 100}`,
      'zscale=t=bt709:m=bt709:r=tv',
      'format=yuv420p',
    ],
    outputOptions: [
      '-color_primaries',
      'bt709',
      '-color_trc',
      'bt709',
      '-colorspace',
      'bt709',
      '-color_range',
      'tv',
    ],
  };
}
