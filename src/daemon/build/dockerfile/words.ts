/**
 * The word splitting BuildKit's parser applies before any expansion (its parseWords): words are
 * separated by unquoted whitespace; quotes and escapes stay in the words (expansion removes them
 * later); inside single quotes the escape character is plain.
 */
export function splitWords(text: string, escape: string): string[] {
  const words: string[] = [];
  const chars = [...text];
  let word = '';
  let inWord = false;
  let quote = '';
  let blankOk = false;
  for (let i = 0; i < chars.length; i++) {
    let ch = chars[i]!;
    if (!inWord && quote === '') {
      if (/\s/.test(ch)) continue;
      inWord = true;
    }
    if (quote === '') {
      if (/\s/.test(ch)) {
        if (blankOk || word !== '') words.push(word);
        word = '';
        blankOk = false;
        inWord = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
      }
      if (ch === escape) {
        if (i + 1 === chars.length) continue; // an escape at the end is dropped
        word += ch;
        ch = chars[++i]!;
      }
      word += ch;
      continue;
    }
    if (ch === quote) quote = '';
    if (ch === escape && quote !== "'") {
      if (i + 1 === chars.length) {
        quote = '';
        continue;
      }
      word += ch;
      ch = chars[++i]!;
    }
    word += ch;
  }
  if (inWord || quote !== '') {
    if (blankOk || word !== '') words.push(word);
  }
  return words;
}

/** Whitespace-separated fields, quotes not considered (BuildKit's parseStringsWhitespaceDelimited). */
export function fields(text: string): string[] {
  return text.split(/\s+/).filter((w) => w !== '');
}
