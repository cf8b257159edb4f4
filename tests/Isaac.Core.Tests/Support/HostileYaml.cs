using System.Text;

namespace Isaac.Core.Tests.Support;

/// <summary>Manifests written to hurt the loader (issue 9): alias bombs and deep nesting.</summary>
internal static class HostileYaml
{
    /// <summary>
    /// The "billion laughs" shape: each level a list of <paramref name="width"/> aliases of the one before.
    /// With the defaults (9 wide, 9 levels, after a manifest head) it is 566 bytes and expands to 9^9 strings.
    /// </summary>
    public static string AliasBomb(int width = 9, int levels = 9)
    {
        var text = new StringBuilder("version: \"1.0\"\ncommand: { name: x }\nruntime: { handler: run.sh }\n");
        text.Append("a0: &a0 [").AppendJoin(",", Enumerable.Repeat("\"lol\"", width)).Append("]\n");
        for (var level = 1; level < levels; level++)
        {
            text.Append($"a{level}: &a{level} [").AppendJoin(",", Enumerable.Repeat($"*a{level - 1}", width)).Append("]\n");
        }

        // Pad to the size the issue measured, so the test uses exactly the reported file.
        return width == 9 && levels == 9 ? text.ToString().PadRight(565) + "\n" : text.ToString();
    }

    /// <summary>Flow collections nested <paramref name="depth"/> deep: <c>[[[[…]]]]</c>.</summary>
    public static string NestedFlow(int depth) => "a: " + new string('[', depth) + new string(']', depth) + "\n";

    /// <summary>A file of about <paramref name="bytes"/> bytes of nothing but opening brackets, as in the issue.</summary>
    public static string NestedFlowOfSize(int bytes) => "a: " + new string('[', bytes - 3);
}
