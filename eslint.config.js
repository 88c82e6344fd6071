import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['out/**', 'node_modules/**', 'test/fixtures/**', 'bench-results/**', 'e2e/artifacts/**', 'renderer/src/**/*.vue'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'warn'
    }
  },
  {
    // Core services are plain Node: only main/electron may import electron.
    files: ['common/**/*.ts', 'main/core/**/*.ts', 'main/cli/**/*.ts', 'main/workers/**/*.ts', 'main/host/**/*.ts', 'main/ml/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: ['electron'] }] }
  }
)
