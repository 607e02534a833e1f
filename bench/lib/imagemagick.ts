/**
 * The real ImageMagick `convert` for the comparison. A machine's `convert` may be something else (a stand-in that
 * only converts PNG to PPM), so each candidate must say it is ImageMagick; if none does, it is installed from
 * Debian (`apt-get install -y imagemagick`), as the benchmark is meant to run on the project's Debian machines.
 */
import { execFileSync } from 'node:child_process';

const CANDIDATES = ['/usr/bin/convert', 'convert'];

function isImageMagick(binary: string): boolean {
  try {
    const out = execFileSync(binary, ['-version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return /^Version: ImageMagick/m.test(out);
  } catch {
    return false;
  }
}

export function findImageMagick(log: (message: string) => void): string {
  const found = CANDIDATES.find(isImageMagick);
  if (found) return found;
  log('  ImageMagick not found: apt-get install -y imagemagick');
  const install = () =>
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'imagemagick'], { stdio: 'ignore' });
  try {
    install();
  } catch {
    execFileSync('apt-get', ['update'], { stdio: 'ignore' });
    install();
  }
  const installed = CANDIDATES.find(isImageMagick);
  if (!installed) throw new Error('ImageMagick is still missing after apt-get install imagemagick');
  return installed;
}
