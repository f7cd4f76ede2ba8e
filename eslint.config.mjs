// Lint (npm test runs it): typescript-eslint's type-aware recommended rules over the packages' sources.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', 'node_modules/**', '.pg-versions/**', 'bench/results/**'] },
  {
    files: ['packages/*/src/**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Node's fs/promises and our port objects are plain functions that never use `this`
      // (`const { open, rename } = fsp` is the adapters' idiom).
      '@typescript-eslint/unbound-method': 'off',
      // A caught `unknown` is passed on as it is (kept in a field, narrowed by `!== undefined`), so
      // it keeps its class and code (PitrError, SshError, errno): these two rules cannot see that.
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      '@typescript-eslint/only-throw-error': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
);
