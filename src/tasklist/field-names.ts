/**
 * The field bullets of a task (`- Requirements: 1.1`), in the languages task lists are written in:
 * one table, read case-insensitively, with `:` or the full-width `：`. Add a language here.
 */
export type FieldName = 'requirements' | 'validates' | 'depends' | 'success' | 'site' | 'needs';

const NAMES: Record<FieldName, readonly string[]> = {
  requirements: [
    'Requirements',
    'Requirement',
    'Reqs',
    'Requisitos',
    'Requisito', // es, pt
    'Anforderungen',
    'Anforderung', // de
    'Exigences', // fr
    '需求',
    '要求', // zh
    '要件',
    '要求事項', // ja
    'المتطلبات',
    'المتطلب', // ar
  ],
  validates: ['Validates'],
  /** Where a task must run, and what its site must have (docs/scaling.md). */
  site: ['Site'],
  needs: ['Needs'],
  depends: [
    'Depends',
    'Depends on',
    'Blocked by',
    'Dependencies',
    'Dependency',
    'Depende de',
    'Depende',
    'Dependencias',
    'Dependências', // es, pt
    'Hängt ab von',
    'Abhängigkeiten',
    'Abhängig von', // de
    'Dépend de',
    'Dépendances', // fr
    '依赖',
    '前置任务', // zh
    '依存',
    '依存関係', // ja
    'يعتمد على',
    'الاعتماديات', // ar
  ],
  success: [
    'Success',
    'Verified',
    'Verify',
    'Verification',
    'Acceptance',
    'Acceptance criteria',
    'Done when',
    'Criterios de aceptación',
    'Critérios de aceitação',
    'Verificación',
    'Verificação', // es, pt
    'Akzeptanzkriterien',
    'Prüfung', // de
    'Critères d’acceptation', // fr
    '验收标准',
    '验证', // zh
    '受け入れ基準',
    '検証', // ja
    'معايير القبول',
    'التحقق', // ar
  ],
};

const BY_NAME = new Map<string, FieldName>(
  Object.entries(NAMES).flatMap(([field, names]) => names.map((n) => [n.toLowerCase(), field as FieldName] as const)),
);
const ALTERNATIVES = [...BY_NAME.keys()]
  .sort((a, b) => b.length - a.length)
  .map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  .join('|');
/** `Name: value`, the name perhaps in bold or italics on its own (`**Depends on**: 1`). */
const FIELD = new RegExp(
  `^(?:\\*\\*|__|_|\\*)?(${ALTERNATIVES})(?:\\*\\*|__|_|\\*)?\\s*[:：]\\s*(?:\\*\\*|__)?\\s*(.*)$`,
  'iu',
);

/** The field a bullet's text sets, and its value; undefined for a bullet that is description. */
export function readField(text: string): { field: FieldName; value: string } | undefined {
  const m = FIELD.exec(text);
  if (!m) return undefined;
  return {
    field: BY_NAME.get(m[1]!.toLowerCase())!,
    value: (m[2] ?? '')
      .trim()
      .replace(/(\*\*|__|_)$/, '')
      .trim(),
  };
}

/**
 * `Depends: none` in the languages above: the task waits for nothing. The last three are Chinese,
 * Japanese and Arabic, escaped: the bundle is ASCII (scripts/build.mjs).
 */
export const NO_DEPENDENCIES =
  /^(none|-|n\/a|ninguna|nenhuma|keine|aucune|\u65e0|\u306a\u3057|\u0644\u0627 \u0634\u064a\u0621)?$/i;
/** Words between the ids of a `Depends:` list (`tasks 1 and 2`, `tareas 1 y 2`): not ids. */
export const DEPENDS_CONNECTORS = /^(?:and|&|y|e|und|et|tasks?|tareas?|tarefas?|aufgaben?|t\u00e2ches?)$/i;
