/** Resolves as `work` does, or rejects with `message` once `ms` pass first. The timer never outlives the race. */
export async function withTimeout<T>(work: Promise<T>, ms: number, message = `no answer within ${ms}ms`): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
