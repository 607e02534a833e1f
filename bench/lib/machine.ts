/** What the figures were measured on: they are ratios, but the machine still says how to read them. */
import { execFileSync } from 'node:child_process';
import { cpus, freemem, release, totalmem } from 'node:os';
import sharp from 'sharp';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  freeMemoryGiB: number;
  os: string;
  node: string;
  libvips: string;
  sharp: string;
  ffmpeg: string;
  imagemagick: string;
}

function firstLine(command: string, args: string[]): string {
  try {
    return (
      execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0] ??
      ''
    );
  } catch {
    return 'absent';
  }
}

export function machineInfo(tools: { ffmpeg?: string; convert?: string } = {}): MachineInfo {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeMemoryGiB: Math.round((freemem() / 2 ** 30) * 10) / 10,
    os: `${process.platform} ${release()}`,
    node: process.version,
    libvips: sharp.versions.vips,
    sharp: sharp.versions.sharp ?? 'unknown',
    ffmpeg: tools.ffmpeg ? firstLine(tools.ffmpeg, ['-version']).replace(/ Copyright.*/, '') : 'not used',
    imagemagick: tools.convert
      ? firstLine(tools.convert, ['-version']).replace(/ https?:.*/, '')
      : 'not used',
  };
}
