import { stringify } from '/work/main/node_modules/yaml/dist/index.js';
import { parseScenario, ScenarioError } from '/work/main/src/scenario/load.ts';
import { scenarioByName } from '/work/main/src/scenario/catalogue.ts';
const yaml = (...lines: string[]) => lines.join('\n') + '\n';
const good = stringify(scenarioByName('introspect'));
const base = { name: 'kids', description: '', pages: 1 };
const cases: [string, string, 'yaml'|'json'][] = [
 [yaml('name: x', 'actors: [', '  {op: access'), 'bad.yaml', 'yaml'],
 [yaml('name: typo','description: d','pages: 1','actors:','  - name: a','    opz: []','  - name: b','    ops:','      - { op: acess, mm: source, page: 0 }','      - { op: reclaim, page: 0, mm: source }'), 'typo.yaml','yaml'],
 [yaml('name: range','description: d','pages: 2','actors:','  - name: a',"    ops: [{ op: access, mm: source, page: 0 }]",'  - name: b','    ops:','      - { op: reclaim, page: 1 }','      - { op: munmap, mm: source, page: 3 }','      - { op: munmap, mm: source, page: 1, pages: 2 }'),'range.yaml','yaml'],
 [good + 'variants: [interval, seed-2019]\n', 'v.yaml', 'yaml'],
 [good + 'variant: interval\nvariants: [interval]\n', 'both.yaml', 'yaml'],
 [JSON.stringify({ ...scenarioByName('munmap'), pages: '1', sourceKvm: 'yes', actors: [{ name: 'source', ops: { op: 'munmap' } }] }, null, 1), 'types.json', 'json'],
 [good.replace('sourceKvm: true\n', ''), 'nokvm.yaml', 'yaml'],
 [JSON.stringify({ ...base, actors: [{ name: 'a', ops: [{ op: 'exit', mm: 'child' }] }] }), 'nofork.json', 'json'],
 [JSON.stringify({ ...base, actors: [{ name: 'a', ops: [{ op: 'fork', mm: 'source' }] }, { name: 'b', ops: [{ op: 'fork', mm: 'introspector' }] }] }), 'forks.json', 'json'],
 [good.replace(/actors:[^]*$/, 'actors: []\n'), 'none.yaml', 'yaml'],
 [good.replace('name: kcompactd', 'name: intro'), 'dup.yaml', 'yaml'],
 [yaml('name: -bad', 'description: 3', 'pages: 65', 'actors: [{name: a, ops: [{op: fork, mm: child}]}]', 'colour: blue'), 'many.yaml', 'yaml'],
 [good.replace('name: introspect', 'name: !!js/function "function () {}"'), 'tag.yaml', 'yaml'],
 ['{\n  "name": "x",\n  "pages": 1,\n}\n', 'bad.json', 'json'],
 ['{"name": "x"', 'cut.json', 'json'],
 ['{"name": "x", "name": "y"}', 'dup.json', 'json'],
 ['{"name": "a\tb"}', 'tab.json', 'json'],
];
for (const [t, f, fmt] of cases) {
  const lines = t.split(/\n/);
  try { parseScenario(t, f, fmt); console.log(f, 'OK'); } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    console.log(e.message);
    for (const p of e.problems) if (p.line) console.log('   >', JSON.stringify(lines[p.line-1].slice(0, p.column-1)), '|', JSON.stringify(lines[p.line-1].slice(p.column-1, p.column+25)));
  }
}
