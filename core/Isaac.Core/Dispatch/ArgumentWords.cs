using System.Text;

namespace Isaac.Core.Dispatch;

/// <summary>Splits argument text into words with POSIX-like quoting. Nothing is ever expanded or executed.</summary>
internal static class ArgumentWords
{
    /// <summary>The words of <paramref name="text"/>, or null when a quote is left open.</summary>
    public static IReadOnlyList<string>? Split(string text)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        char? quote = null;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quote == '\'')
            {
                if (c == '\'') { quote = null; } else { word.Append(c); }
            }
            else if (quote == '"')
            {
                if (c == '"') { quote = null; }
                else if (c == '\\' && i + 1 < text.Length && text[i + 1] is '"' or '\\') { word.Append(text[++i]); }
                else { word.Append(c); }
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord) { words.Add(word.ToString()); word.Clear(); inWord = false; }
            }
            else
            {
                inWord = true;
                if (c is '\'' or '"') { quote = c; }
                else if (c == '\\' && i + 1 < text.Length) { word.Append(text[++i]); }
                else { word.Append(c); }
            }
        }

        if (quote is not null)
        {
            return null;
        }

        if (inWord)
        {
            words.Add(word.ToString());
        }

        return words;
    }
}
