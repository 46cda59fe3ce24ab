/** A started role: what `runstream all` and the CLI hold and stop. */
export interface RoleHandle {
  role: string;
  /** The bound HTTP port (useful when configured as 0). */
  port: number;
  close(): Promise<void>;
}
