using Newtonsoft.Json.Linq;

namespace Isaac.Core.Manifests;

/// <summary>
/// The other manifest shape of the original design (<c>name</c>, <c>summary</c>, <c>triggers: ["/x"]</c>,
/// <c>runtime.entry</c>, <c>runtime.interpreter</c>): recognised so that such a file gets one problem that says what
/// it is and how each of its fields maps to this format, instead of a dozen "unknown key" errors.
/// </summary>
internal static class OtherManifestShape
{
    public const string Rule = "other-shape";

    /// <summary>The field-by-field mapping to this format, or null when <paramref name="document"/> is not in the other shape.</summary>
    public static IReadOnlyList<string>? Mapping(JToken document)
    {
        if (document is not JObject root || root["command"] is not null
            || !(root["name"] is JValue || root["summary"] is not null || root["triggers"] is JArray { First: JValue } || root["runtime"]?["entry"] is not null))
        {
            return null;
        }

        var name = (string?)(root["name"] as JValue) ?? "NAME";
        var lines = new List<string> { "version: \"1.0\" is required (add it)", $"name: {name} -> command.name: {name}" };
        if (root["summary"] is JValue summary)
        {
            lines.Add($"summary: ... -> command.description: {summary}");
        }

        foreach (var trigger in (root["triggers"] as JArray)?.OfType<JValue>() ?? [])
        {
            var text = (string?)trigger ?? "";
            var prefix = text.Length > 0 && !char.IsLetterOrDigit(text[0]) ? text[..1] : "/";
            var word = text.TrimStart(prefix[0]);
            lines.Add($"triggers: [\"{text}\"] -> triggers: [{{prefix: \"{prefix}\", pattern: \"^{word}(\\\\s+(.*))?$\", capture: args}}] (or leave triggers out: /{name} is the default)");
        }

        if (root["runtime"]?["entry"] is JValue entry)
        {
            lines.Add($"runtime.entry: {entry} -> runtime.handler: {entry}");
        }

        if (root["runtime"]?["interpreter"] is JValue interpreter)
        {
            lines.Add($"runtime.interpreter: {interpreter} -> runtime.interpreter: {interpreter} (unchanged)");
        }

        lines.Add("handler output {\"ok\": true, \"kind\": \"text\", \"stdout\": ...} -> {\"status\": \"success\", \"kind\": \"text\", \"stdout\": ...} (docs/protocol.md)");
        return lines;
    }
}
