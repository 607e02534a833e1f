/**
 * HEIC: HEIF stills coded with HEVC, as iPhones (and many Android phones) save photos. sharp's prebuilt libvips reads
 * the HEIF container but has no HEVC decoder (it is patent-encumbered), so these are decoded here by libheif compiled
 * to WebAssembly (`libheif-js`, libde265 inside): no native code, so it runs on FC as it runs anywhere. AVIF, the
 * other HEIF flavour, stays with sharp's own decoder.
 *
 * What is decoded, and how it reaches the sharp pipeline:
 * - The primary image only (a Live Photo, burst or `heic-sequence` file holds several; the primary is the one shown),
 *   with the container's transformations (`irot`/`imir`/`clap`) applied by libheif. Its size is checked against the
 *   pixel limit from the container's header before any pixel is decoded.
 * - Orientation: the container's transformations are the normative ones (ISO/IEC 23008-12); iPhones write them *and*
 *   an EXIF orientation describing the same turn, so the EXIF tag is ignored when the image has transformations.
 *   Files with only the EXIF tag (some Android phones, tools that copy EXIF from a JPEG) are oriented by it, as a JPEG.
 * - Colour: the ICC profile (iPhones: Display P3) travels with the pixels untouched, as for a JPEG. A file with only
 *   an nclx colour description is converted to RGB by its matrix and taken as sRGB; 10-bit and HDR (BT.2020 PQ/HLG)
 *   stills are decoded to 8 bits as they are, without tone mapping.
 * - sharp can take raw pixels but cannot tag them with a profile or orientation without converting them, so the
 *   decoded pixels are written as an uncompressed baseline TIFF (the smallest container libvips reads that carries
 *   both) into the job's scratch folder, written straight from the decoder's memory (one strip per row, so the
 *   decoder's row padding needs no copy). The caller then decodes that file with sharp like any other image.
 *
 * Memory: each decode gets a fresh WebAssembly instance, dropped afterwards, so one photo's heap (the file, the
 * decoded YCbCr planes and the RGB image: about 4.5 bytes per pixel) is never kept by the next job, and a hostile
 * file cannot leave state behind. The peak for 12 MP and 48 MP photos is measured in BENCHMARKS.md.
 */
import { open } from 'node:fs/promises';
import parseExif from 'exif-reader';
import type { Metadata } from 'sharp';
import { MediaFailure } from './failure.js';

/** Whether sharp's header says this is HEVC-coded HEIF (sharp reads the header but cannot decode the pixels). */
export function needsHeicDecoder(header: Metadata): boolean {
  return header.format === 'heif' && header.compression === 'hevc';
}

export interface DecodedHeic {
  /** The uncompressed TIFF handed on to sharp. */
  path: string;
  /** As stored after the container's transformations, before any EXIF orientation. */
  width: number;
  height: number;
  /** EXIF orientation still to apply (1 when the container's transformations already oriented the image). */
  orientation: number;
  hasAlpha: boolean;
  /** Images in the file (the primary one is decoded). */
  images: number;
}

/** The parts of the Emscripten module (libheif's C API, `_`-prefixed) used here. Pointers are numbers. */
interface Libheif {
  HEAPU8: Uint8Array;
  HEAP32: Int32Array;
  _malloc(bytes: number): number;
  UTF8ToString(pointer: number): string;
  _heif_context_alloc(): number;
  _heif_context_read_from_memory_without_copy(
    error: number,
    context: number,
    data: number,
    size: number,
    options: number,
  ): void;
  _heif_context_get_number_of_top_level_images(context: number): number;
  _heif_context_get_primary_image_handle(error: number, context: number, handleOut: number): void;
  _heif_image_handle_get_item_id(handle: number): number;
  _heif_image_handle_get_width(handle: number): number;
  _heif_image_handle_get_height(handle: number): number;
  _heif_image_handle_has_alpha_channel(handle: number): number;
  _heif_image_handle_is_premultiplied_alpha(handle: number): number;
  _heif_image_handle_get_color_profile_type(handle: number): number;
  _heif_image_handle_get_raw_color_profile_size(handle: number): number;
  _heif_image_handle_get_raw_color_profile(error: number, handle: number, out: number): void;
  _heif_image_handle_get_number_of_metadata_blocks(handle: number, type: number): number;
  _heif_image_handle_get_list_of_metadata_block_IDs(
    handle: number,
    type: number,
    ids: number,
    count: number,
  ): number;
  _heif_image_handle_get_metadata_size(handle: number, id: number): number;
  _heif_image_handle_get_metadata(error: number, handle: number, id: number, out: number): void;
  _heif_item_get_transformation_properties(context: number, item: number, out: number, count: number): number;
  _heif_decode_image(
    error: number,
    handle: number,
    imageOut: number,
    colorspace: number,
    chroma: number,
    options: number,
  ): void;
  _heif_image_get_plane_readonly(image: number, channel: number, strideOut: number): number;
}
type LibheifFactory = (options: {
  onRuntimeInitialized: () => void;
  onAbort: (what: unknown) => void;
  print: (text: string) => void;
  printErr: (text: string) => void;
}) => Libheif;

/** libheif's `heif_error_code` values that mean the file is fine but uses something this decoder lacks. */
const UNSUPPORTED_CODES = new Set([3 /* Unsupported_filetype */, 4 /* Unsupported_feature */]);
const COLORSPACE_RGB = 1;
const CHROMA_INTERLEAVED_RGB = 10;
const CHROMA_INTERLEAVED_RGBA = 11;
const CHANNEL_INTERLEAVED = 10;
const fourcc = (code: string) => code.split('').reduce((value, char) => value * 256 + char.charCodeAt(0), 0);
const PROFILE_ICC = new Set([fourcc('prof'), fourcc('rICC')]);

/** A fresh libheif instance; the module loads lazily, so workers that never see a HEIC never pay for it. */
async function instantiate(): Promise<Libheif> {
  const loaded = (await import('libheif-js/libheif-wasm/libheif.js')) as unknown as { default?: unknown };
  const factory = (loaded.default ?? loaded) as LibheifFactory;
  return new Promise<Libheif>((resolve, reject) => {
    let instance: Libheif | undefined;
    // The factory returns the instance before (or, with a cached compile, after) its runtime is ready.
    const ready = () => (instance ? resolve(instance) : setImmediate(ready));
    try {
      instance = factory({
        onRuntimeInitialized: () => setImmediate(ready),
        onAbort: (what) => reject(new Error(`the HEIC decoder did not start: ${String(what)}`)),
        // libheif prints its own diagnostics; the errors it returns say the same, and logs stay structured.
        print: () => {},
        printErr: () => {},
      });
    } catch (error) {
      reject(error);
    }
  });
}

/** The EXIF orientation tag (1–8) of an EXIF block, or 1. HEIF stores `Exif` items as a 4-byte offset, then TIFF. */
function exifOrientation(block: Uint8Array): number {
  if (block.length < 12) return 1;
  const offset = new DataView(block.buffer, block.byteOffset, block.byteLength).getUint32(0);
  const tiff = Buffer.from(block.subarray(Math.min(4 + offset, block.length)));
  try {
    const orientation = parseExif(tiff).Image?.Orientation;
    return typeof orientation === 'number' && orientation >= 1 && orientation <= 8 ? orientation : 1;
  } catch {
    return 1; // unreadable EXIF orients nothing, as sharp treats a JPEG's
  }
}

interface Plane {
  /** Byte offset of the first row in the wasm heap. */
  pointer: number;
  stride: number;
  width: number;
  height: number;
  channels: 3 | 4;
  premultiplied: boolean;
}

/**
 * A little-endian baseline TIFF header for `plane` (one strip per row, pointing into the pixel data that follows
 * at `dataStart + row × stride`), with the ICC profile and orientation. Written by hand because no TIFF library on
 * npm writes strips that skip row padding, which is what saves copying the image.
 */
function tiffHeader(plane: Plane, icc: Uint8Array | undefined, orientation: number): Buffer {
  const { width, height, channels, stride } = plane;
  type Entry = { tag: number; type: 3 | 4 | 7; values: number[] | Uint8Array };
  const SHORT = 3;
  const LONG = 4;
  const UNDEFINED = 7;
  const entries: Entry[] = [
    { tag: 256, type: LONG, values: [width] },
    { tag: 257, type: LONG, values: [height] },
    { tag: 258, type: SHORT, values: Array(channels).fill(8) },
    { tag: 259, type: SHORT, values: [1] }, // no compression
    { tag: 262, type: SHORT, values: [2] }, // RGB
    { tag: 273, type: LONG, values: [] }, // strip offsets, filled in below
    { tag: 274, type: SHORT, values: [orientation] },
    { tag: 277, type: SHORT, values: [channels] },
    { tag: 278, type: LONG, values: [1] }, // rows per strip
    { tag: 279, type: LONG, values: Array(height).fill(width * channels) },
    { tag: 284, type: SHORT, values: [1] }, // interleaved
    ...(channels === 4 ? [{ tag: 338, type: SHORT, values: [plane.premultiplied ? 1 : 2] } as Entry] : []),
    ...(icc ? [{ tag: 34675, type: UNDEFINED, values: icc } as Entry] : []),
  ];
  const unit = (type: Entry['type']) => (type === LONG ? 4 : type === SHORT ? 2 : 1);
  const outOfLine = (entry: Entry) => entry.values.length * unit(entry.type) > 4;
  const ifdBytes = 2 + entries.length * 12 + 4;
  const stripOffsets = entries.find((entry) => entry.tag === 273) as Entry;
  stripOffsets.values = Array(height).fill(0);
  const extraBytes = entries.reduce((sum, e) => sum + (outOfLine(e) ? e.values.length * unit(e.type) : 0), 0);
  const dataStart = 8 + ifdBytes + extraBytes;
  stripOffsets.values = Array.from({ length: height }, (_, row) => dataStart + row * stride);

  const header = Buffer.alloc(dataStart);
  header.write('II', 0, 'latin1');
  header.writeUInt16LE(42, 2);
  header.writeUInt32LE(8, 4);
  header.writeUInt16LE(entries.length, 8);
  let extra = 8 + ifdBytes;
  const put = (at: number, entry: Entry) => {
    entry.values.forEach((value, index) => {
      if (entry.type === LONG) header.writeUInt32LE(value, at + index * 4);
      else if (entry.type === SHORT) header.writeUInt16LE(value, at + index * 2);
      else header[at + index] = value;
    });
  };
  entries.forEach((entry, index) => {
    const at = 10 + index * 12;
    header.writeUInt16LE(entry.tag, at);
    header.writeUInt16LE(entry.type, at + 2);
    header.writeUInt32LE(entry.values.length, at + 4);
    if (outOfLine(entry)) {
      header.writeUInt32LE(extra, at + 8);
      put(extra, entry);
      extra += entry.values.length * unit(entry.type);
    } else {
      put(at + 8, entry);
    }
  });
  return header;
}

/**
 * Decode the primary image of a HEVC-coded HEIF file into an uncompressed TIFF at `path`. Throws `MediaFailure`
 * (`TooManyPixels` before decoding, `UnsupportedMedia`, `CorruptMedia`) for files that can never decode.
 */
export async function decodeHeic(source: Buffer, path: string, maxPixels: number): Promise<DecodedHeic> {
  const heif = await instantiate();
  const scratch = heif._malloc(64); // a heif_error (code, subcode, message) and out-parameters
  const check = (what: string) => {
    const code = heif.HEAP32[scratch >> 2] ?? 0;
    if (code === 0) return;
    // libheif's own words go to the log (cause), upcall's to the manifest.
    const cause = new Error(heif.UTF8ToString(heif.HEAP32[(scratch >> 2) + 2] ?? 0));
    throw new MediaFailure(UNSUPPORTED_CODES.has(code) ? 'UnsupportedMedia' : 'CorruptMedia', what, {
      cause,
    });
  };
  const out = scratch + 16;

  const data = heif._malloc(source.length);
  if (!data) throw new Error(`cannot allocate ${source.length} bytes for the HEIC decoder`);
  heif.HEAPU8.set(source, data);
  const context = heif._heif_context_alloc();
  heif._heif_context_read_from_memory_without_copy(scratch, context, data, source.length, 0);
  check('cannot read the HEIF file');
  const images = heif._heif_context_get_number_of_top_level_images(context);
  heif._heif_context_get_primary_image_handle(scratch, context, out);
  check('cannot read the primary image');
  const handle = heif.HEAP32[out >> 2] ?? 0;

  const width = heif._heif_image_handle_get_width(handle);
  const height = heif._heif_image_handle_get_height(handle);
  if (width * height > maxPixels) {
    throw new MediaFailure(
      'TooManyPixels',
      `the image is ${width}×${height} = ${width * height} pixels, over the limit of ${maxPixels}`,
    );
  }
  const transformed =
    heif._heif_item_get_transformation_properties(
      context,
      heif._heif_image_handle_get_item_id(handle),
      out,
      4,
    ) > 0;
  const orientation = transformed ? 1 : exifOrientation(exifBlock(heif, handle, out));
  const icc = iccProfile(heif, handle, scratch);
  const hasAlpha = heif._heif_image_handle_has_alpha_channel(handle) !== 0;

  heif._heif_decode_image(
    scratch,
    handle,
    out,
    COLORSPACE_RGB,
    hasAlpha ? CHROMA_INTERLEAVED_RGBA : CHROMA_INTERLEAVED_RGB,
    0,
  );
  check('cannot decode the image');
  const image = heif.HEAP32[out >> 2] ?? 0;
  const pointer = heif._heif_image_get_plane_readonly(image, CHANNEL_INTERLEAVED, out);
  const plane: Plane = {
    pointer,
    stride: heif.HEAP32[out >> 2] ?? 0,
    width,
    height,
    channels: hasAlpha ? 4 : 3,
    premultiplied: heif._heif_image_handle_is_premultiplied_alpha(handle) !== 0,
  };
  if (!pointer || plane.stride < width * plane.channels)
    throw new MediaFailure('CorruptMedia', 'the decoder returned no pixels');

  // Nothing else runs in this instance until the write is over, so the heap cannot grow (which would detach the view).
  const pixels = Buffer.from(
    heif.HEAPU8.buffer,
    pointer,
    plane.stride * (height - 1) + width * plane.channels,
  );
  const file = await open(path, 'w');
  try {
    await file.write(tiffHeader(plane, icc, orientation));
    await file.write(pixels);
  } finally {
    await file.close();
  }
  return { path, width, height, orientation, hasAlpha, images };
}

/** The primary image's EXIF block, or an empty one. */
function exifBlock(heif: Libheif, handle: number, out: number): Uint8Array {
  const type = heif._malloc(5);
  heif.HEAPU8.set([...Buffer.from('Exif', 'latin1'), 0], type);
  if (heif._heif_image_handle_get_list_of_metadata_block_IDs(handle, type, out, 1) < 1)
    return new Uint8Array();
  const id = heif.HEAP32[out >> 2] ?? 0;
  const size = heif._heif_image_handle_get_metadata_size(handle, id);
  const block = heif._malloc(size);
  heif._heif_image_handle_get_metadata(out, handle, id, block);
  if (heif.HEAP32[out >> 2] !== 0) return new Uint8Array();
  return heif.HEAPU8.slice(block, block + size);
}

/** The file's ICC profile, kept with the pixels; none for nclx or no colour description (sRGB). */
function iccProfile(heif: Libheif, handle: number, scratch: number): Uint8Array | undefined {
  if (!PROFILE_ICC.has(heif._heif_image_handle_get_color_profile_type(handle))) return undefined;
  const size = heif._heif_image_handle_get_raw_color_profile_size(handle);
  const profile = heif._malloc(size);
  heif._heif_image_handle_get_raw_color_profile(scratch, handle, profile);
  return heif.HEAP32[scratch >> 2] === 0 ? heif.HEAPU8.slice(profile, profile + size) : undefined;
}
