using Isaac.Core.Tests.Security;

namespace Isaac.Core.Tests.Support;

/// <summary>What a person may be shown: words, never a .NET type name or resource key.</summary>
public static class PlainText
{
    /// <summary>
    /// <paramref name="text"/> names no .NET type and holds no resource key, except words quoted from
    /// <paramref name="input"/> (a refusal may echo the field or value it refuses, and fuzzed input can look like anything).
    /// </summary>
    public static void AssertNoInternals(string? text, string input = "")
    {
        text ??= "";
        foreach (var word in new[] { "System.", "Isaac." }.Concat(MessageTests.ResourceKey.Matches(text).Select(m => m.Value)))
        {
            Assert.True(!text.Contains(word, StringComparison.Ordinal) || input.Contains(word, StringComparison.Ordinal),
                $"'{word}' did not come from the input: {text}");
        }
    }
}
