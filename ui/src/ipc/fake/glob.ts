// Gitignore-style globs for the fake host's pattern preview: a pattern without "/" matches a
// file name at any depth; with "/" it matches from the folder root; "**" spans folders, "*" and
// "?" stay within one name; a trailing "/" matches everything under a folder.
// Returns null for a pattern that is not valid (an unclosed "[").

export function globToRegExp(pattern: string): RegExp | null {
  let p = pattern.startsWith("/") ? pattern.slice(1) : pattern;
  const dirOnly = p.endsWith("/");
  if (dirOnly) p = p.slice(0, -1);
  const anchored = pattern.includes("/") && !(dirOnly && !p.includes("/"));
  let out = "";
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === "*") {
      if (p[i + 1] === "*") {
        i++;
        if (p[i + 1] === "/") {
          i++;
          out += "(?:.*/)?";
        } else out += ".*";
      } else out += "[^/]*";
    } else if (c === "?") out += "[^/]";
    else if (c === "[") {
      const end = p.indexOf("]", i + 1);
      if (end < 0) return null;
      const body = p.slice(i + 1, end).replace(/\\/g, "\\\\");
      out += "[" + (body.startsWith("!") ? "^" + body.slice(1) : body) + "]";
      i = end;
    } else out += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  const prefix = anchored ? "^" : "^(?:.*/)?";
  const suffix = dirOnly ? "/.*$" : "(?:/.*)?$";
  return new RegExp(prefix + out + suffix);
}
