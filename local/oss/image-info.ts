/** `${imageInfo.*}` for a stored object: sharp's metadata, with the format named as OSS names it (`jpg`, not `jpeg`). */
import sharp from 'sharp';

export interface ImageInfo {
  width: number;
  height: number;
  format: string;
}

const OSS_FORMAT_NAMES: Record<string, string> = { jpeg: 'jpg' };

/** Undefined for anything sharp cannot read as an image (OSS then renders the three variables empty). */
export async function readImageInfo(path: string): Promise<ImageInfo | undefined> {
  try {
    const { width, height, format } = await sharp(path).metadata();
    if (!width || !height || !format) return undefined;
    return { width, height, format: OSS_FORMAT_NAMES[format] ?? format };
  } catch {
    return undefined;
  }
}
