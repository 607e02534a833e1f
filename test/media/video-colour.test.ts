/** The colour decisions of a transcode, as plain functions of the probed stream (video-colour.ts). */
import { describe, expect, it } from 'vitest';
import { isHdr, peakLuminance, sdrConversion } from '../../functions/media/video-colour.js';

describe('transcode colour', () => {
  it('tone-maps HLG and PQ only; SDR of any depth is just taken to 8-bit 4:2:0', () => {
    expect(isHdr({ color_transfer: 'arib-std-b67' })).toBe(true);
    expect(isHdr({ color_transfer: 'smpte2084' })).toBe(true);
    expect(isHdr({ color_transfer: 'bt709' })).toBe(false);
    expect(isHdr({})).toBe(false);
    expect(sdrConversion({ color_transfer: 'bt709' })).toEqual({
      filters: ['format=yuv420p'],
      outputOptions: [],
    });
    const hlg = sdrConversion({
      color_transfer: 'arib-std-b67',
      color_primaries: 'bt2020',
      color_space: 'bt2020nc',
    });
    expect(hlg.filters[0]).toBe('zscale=tin=arib-std-b67:pin=bt2020:min=bt2020nc:rin=tv:t=linear:npl=100');
    expect(hlg.filters.at(-1)).toBe('format=yuv420p');
    expect(hlg.outputOptions).toEqual(
      expect.arrayContaining(['-color_trc', 'bt709', '-colorspace', 'bt709']),
    );
  });

  it('takes the peak the file states, else 1000 cd/m², within PQ’s range', () => {
    expect(peakLuminance({})).toBe(1000);
    expect(peakLuminance({ side_data_list: [{ max_luminance: '40000000/10000' }] })).toBe(4000);
    expect(
      peakLuminance({ side_data_list: [{ max_content: 600 }, { max_luminance: '10000000/10000' }] }),
    ).toBe(600);
    expect(peakLuminance({ side_data_list: [{ max_content: 0, max_luminance: '0/1' }] })).toBe(1000);
    expect(peakLuminance({ side_data_list: [{ max_content: 50_000 }] })).toBe(10_000);
    const filters = sdrConversion({
      color_transfer: 'smpte2084',
      side_data_list: [{ max_content: 4000 }],
    }).filters;
    expect(filters).toContain('tonemap=tonemap=hable:desat=0:peak=40');
  });

  it('puts only known names into the filter graph, whatever the file claims', () => {
    const hostile = sdrConversion({
      color_transfer: 'smpte2084',
      color_primaries: 'bt2020,drawtext=text=x',
      color_space: "'[out]",
      color_range: 'pc;',
    });
    expect(hostile.filters[0]).toBe('zscale=tin=smpte2084:pin=bt2020:min=bt2020nc:rin=tv:t=linear:npl=100');
  });
});
