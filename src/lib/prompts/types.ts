/** The prompt functions commands use: @inquirer/prompts' select, input and confirm fit; tests script them. */

/** One choice of a select prompt. */
export interface Choice<T> {
  name: string;
  value: T;
  description?: string;
}

/** The prompt functions the flow uses; @inquirer/prompts' select, input and confirm fit. */
export interface PromptFunctions {
  select<T>(config: { message: string; choices: Choice<T>[]; default?: T; pageSize?: number }): Promise<T>;
  input(config: { message: string; default?: string; validate?: (value: string) => boolean | string }): Promise<string>;
  confirm(config: { message: string; default?: boolean }): Promise<boolean>;
}
