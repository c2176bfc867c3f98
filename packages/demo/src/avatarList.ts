/**
 * The avatars to offer in the picker: `?avatars=a,b` if given, else `GET /avatars` when the server
 * has that route (a JSON array of `{ id, state }`), else just the default one.
 */
export async function avatarList(params: URLSearchParams): Promise<string[]> {
  const listed = params.get('avatars');
  if (listed) return listed.split(',').filter(Boolean);
  try {
    const res = await fetch('/avatars', { headers: { Accept: 'application/json' } });
    if (res.ok) {
      const avatars = (await res.json()) as { id: string; state?: string }[];
      const ids = avatars.filter((a) => a.state !== 'failed').map((a) => a.id);
      if (ids.length > 0) return ids;
    }
  } catch {
    // No list (older server, or 404): the default avatar alone.
  }
  return ['default'];
}
