// The DGA families written from their public descriptions: their first names match what the
// published reference reimplementations (run separately, outside this repository) give for
// the same seeds and dates, and each family's names keep to its documented shape.
import assert from 'node:assert/strict';
import { DGA_FAMILIES, dgaFamily } from '../../../../collector/analyze/dga/dga-families.js';

/** family -> campaign -> first names (reference outputs for the campaign's seed / date) */
const VECTORS: Record<string, Record<number, string[]>> = {
  ramnit: { 0: ['mtsoexdphaqliva.com', 'uulwwmawqjujuuprpp.com', 'twuybywnrlqcf.com'], 2: ['rkjtwjwmesvwhpc.com', 'axigleyldgeq.com'] },
  necurs: { 0: ['gdktygeuxvijrws.com', 'wpllacvvmnjujhfw.cc', 'trlywdwykft.sc'], 1: ['shedauntvvfyycc.us', 'uaivusoqhcxaiox.su'] },
  simda: { 0: ['gatyfus.com', 'lyvyxor.com', 'vojyqem.com'] },
  tinba: { 0: ['gllcsbqrbfch.com', 'hkgjjokkwodt.com', 'jjnehudfmclq.com'], 1: ['nvfowikhevmy.com', 'nvfowikhevmy.net'] },
  kraken: { 0: ['wrdopsivf.com', 'iuhqhbmq.net', 'zoipmnwr.tv'] },
  pykspa: { 0: ['oekqso.biz', 'ilkkhodsholapet.com', 'wtpifodsholapet.org'] },
};

const SHAPES: Record<string, RegExp> = {
  ramnit: /^[a-y]{8,19}\.com$/,
  necurs: /^[a-y]{7,21}\.[a-z]{2,3}$/,
  simda: /^([qwrtpsdfghjklzxcvbnm][eyuioa]){3}[qwrtpsdfghjklzxcvbnm]\.com$/,
  tinba: /^[b-y]{12}\.[a-z]+$/,
  kraken: /^[a-z]{7,12}\.(com|net|tv|cc|dyndns\.org|yi\.org|dynserv\.com|mooo\.com)$/,
  pykspa: /^[a-z]{6,15}\.(biz|com|net|org|info|cc)$/,
};

describe('DGA families', () => {
  it('match the reference reimplementations of the published algorithms', () => {
    for (const [family, campaigns] of Object.entries(VECTORS)) {
      for (const [c, names] of Object.entries(campaigns)) {
        assert.deepEqual(dgaFamily(family)!.generate(Number(c), names.length), names, `${family} campaign ${c}`);
      }
    }
  });

  it('are deterministic, keep their shapes, and give other names in other campaigns', () => {
    assert.equal(DGA_FAMILIES.length, 6);
    for (const f of DGA_FAMILIES) {
      const a = f.generate(3, 200);
      assert.deepEqual(f.generate(3, 200), a, f.name);
      assert.equal(a.length, 200);
      for (const n of a) assert.match(n, SHAPES[f.name]!, `${f.name}: ${n}`);
      const other = new Set(f.generate(103, 200));
      const shared = a.filter((n) => other.has(n)).length;
      // kraken (its discards fall into the cropped generator's cycles, and every ninth name
      // ignores the date) and pykspa (squaring falls into cycles) repeat names across dates by
      // design: the evaluation drops held-out names seen in training (dga-training-data.ts)
      if (f.name === 'kraken' || f.name === 'pykspa') assert.ok(shared < 200, `${f.name}: campaigns 3 and 103 are the same`);
      else assert.ok(shared < 5, `${f.name}: campaigns 3 and 103 share ${shared} names`);
    }
  });
});
