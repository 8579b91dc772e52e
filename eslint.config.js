// ESLint flat config: typed rules for all TypeScript, and workflow purity for the code
// that runs inside Temporal's deterministic sandbox.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Workflow code may import only the workflow SDK, sibling workflow files and pure schemas. */
export const WORKFLOW_IMPORT_RULE = [
  'error',
  {
    patterns: [
      {
        regex: '^(?!@temporalio/(workflow|common)$|\\./|(\\.\\./)+schemas/)',
        allowTypeImports: true,
        message:
          'Workflow code runs in a deterministic sandbox: import only @temporalio/workflow and @temporalio/common, other workflow files, pure modules of schemas/, or `import type`.',
      },
    ],
  },
];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'dist.*/', '.tools/', '.data/', 'coverage/', 'scratch/', 'test/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'bin/*.js', 'scripts/*.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/definitions/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': WORKFLOW_IMPORT_RULE },
  },
  {
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
