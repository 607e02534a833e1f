import { describe, expect, it } from 'vitest';
import { invocationCu, USD_PER_CU } from '../../bench/cost.js';

describe('the cost model', () => {
  it("reproduces FC 3.0's own worked example (3 million calls, 0.25 vCPU, 0.5 GB, 200 ms → 217,500 CU)", () => {
    const perCall = invocationCu({ vcpu: 0.25, memoryGB: 0.5, diskGB: 0 }, 0.2);
    expect(perCall * 3_000_000).toBeCloseTo(217_500, 3);
    expect(USD_PER_CU).toBe(0.00002);
  });

  it('charges disk by the GB-second', () => {
    const withDisk = invocationCu({ vcpu: 2, memoryGB: 4, diskGB: 10 }, 1);
    const without = invocationCu({ vcpu: 2, memoryGB: 4, diskGB: 0 }, 1);
    expect(withDisk - without).toBeCloseTo(0.5, 10);
  });
});
