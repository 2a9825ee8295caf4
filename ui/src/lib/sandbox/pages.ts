// Pages of Sandbox items fetched on demand for a virtual list: only the rows in view are asked for.

import type { SandboxItemSummary, SandboxQuery } from "../../ipc";
import { host } from "../app/host";

/** Rows per host call. Bigger pages mean fewer calls but a longer wait for the first rows. */
export const PAGE_SIZE = 100;

export class SandboxPages {
  total = 0;
  private pages = new Map<number, SandboxItemSummary[]>();
  private loading = new Set<number>();

  constructor(
    private readonly query: Omit<SandboxQuery, "offset" | "limit">,
    private readonly onchange: () => void,
  ) {}

  async first(): Promise<void> {
    await this.load(0);
  }

  item(index: number): SandboxItemSummary | undefined {
    return this.pages.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE];
  }

  ensure(start: number, end: number): void {
    for (let page = Math.floor(start / PAGE_SIZE); page <= Math.floor(Math.max(start, end - 1) / PAGE_SIZE); page++) {
      if (!this.pages.has(page) && !this.loading.has(page)) void this.load(page);
    }
  }

  private async load(page: number): Promise<void> {
    this.loading.add(page);
    try {
      const result = await host().listSandboxItems({ ...this.query, offset: page * PAGE_SIZE, limit: PAGE_SIZE });
      this.total = result.total;
      this.pages.set(page, result.items);
      this.onchange();
    } finally {
      this.loading.delete(page);
    }
  }
}
