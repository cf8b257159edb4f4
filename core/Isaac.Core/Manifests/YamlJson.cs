using System.Globalization;
using Newtonsoft.Json.Linq;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Isaac.Core.Manifests;

/// <summary>
/// Turns the YAML parser's event stream into the JSON the schema validator reads, remembering where in the
/// YAML each JSON path came from so that schema errors can name a line and column.
/// </summary>
/// <remarks>
/// Manifests are untrusted, so limits are checked while reading, before anything is built: nesting depth, and
/// the number of nodes including every copy an alias makes (a "billion laughs" file is 566 bytes). The walk keeps
/// its own stack of open collections, so deep input costs heap proportional to the capped depth, never C# stack.
/// </remarks>
internal static class YamlJson
{
    /// <summary>Deepest nesting of collections a manifest may use; real ones use five or six.</summary>
    public const int MaxDepth = 32;

    /// <summary>Most nodes (scalars, keys and collections) a manifest may expand to, counting every alias copy.</summary>
    public const int MaxNodes = 10_000;

    private sealed class OpenCollection(JContainer container, string path, string? anchor, int firstNode, int depth)
    {
        public JContainer Container { get; } = container;
        public string Path { get; } = path;
        public string? Anchor { get; } = anchor;
        public int FirstNode { get; } = firstNode;
        public int Depth { get; } = depth;
        public int Deepest { get; set; } = depth;
        public string? Key { get; set; }
    }

    private sealed record Anchored(JToken Value, int Nodes, int Height);

    /// <summary>Reads exactly one document; throws <see cref="YamlException"/> (with its mark) for anything over a limit.</summary>
    public static JToken Read(IParser parser, Dictionary<string, Mark> marks)
    {
        var anchors = new Dictionary<string, Anchored>(StringComparer.Ordinal);
        var open = new Stack<OpenCollection>();
        var documents = 0;
        var nodes = 0;
        JToken? root = null;

        while (parser.MoveNext())
        {
            var current = parser.Current;
            switch (current)
            {
                case DocumentStart:
                    if (++documents > 1)
                    {
                        throw Over(current, "expected exactly one YAML document, found more than one");
                    }

                    continue;
                case MappingEnd or SequenceEnd:
                    var done = open.Pop();
                    if (done.Anchor is { } name)
                    {
                        anchors[name] = new Anchored(done.Container, nodes - done.FirstNode, done.Deepest - done.Depth + 1);
                    }

                    if (open.TryPeek(out var parent))
                    {
                        parent.Deepest = Math.Max(parent.Deepest, done.Deepest);
                    }

                    continue;
                case not (Scalar or MappingStart or SequenceStart or AnchorAlias):
                    continue;
            }

            // A node: a mapping key, or a value placed in the innermost open collection (or the root).
            open.TryPeek(out var into);
            if (into is { Container: JObject obj, Key: null })
            {
                if (current is not Scalar key)
                {
                    throw Over(current, "a key must be plain text, not a list, a mapping or an alias");
                }

                if (obj.ContainsKey(key.Value))
                {
                    throw Over(current, $"key '{key.Value}' appears twice");
                }

                Count(ref nodes, current);
                into.Key = key.Value;
                marks.TryAdd(Child(into.Path, key.Value), current.Start);
                continue;
            }

            var path = into switch
            {
                null => "",
                { Container: JObject } => Child(into.Path, into.Key ?? ""),
                _ => $"{into.Path}[{into.Container.Count}]",
            };
            marks.TryAdd(path, current.Start);
            var depth = open.Count + 1;
            JToken value;
            switch (current)
            {
                case AnchorAlias alias:
                    if (!anchors.TryGetValue(alias.Value.Value, out var anchored))
                    {
                        throw Over(current, $"alias '*{alias.Value.Value}' refers to no anchor defined before it");
                    }

                    nodes += anchored.Nodes;
                    if (nodes > MaxNodes)
                    {
                        throw Over(current, $"aliases expand the manifest past {MaxNodes} nodes; a manifest needs far fewer");
                    }

                    if (depth + anchored.Height - 1 > MaxDepth)
                    {
                        throw Over(current, $"alias '*{alias.Value.Value}' nests deeper than {MaxDepth} levels");
                    }

                    // The copy is recursive, but only as deep as MaxDepth allows.
                    value = anchored.Value.DeepClone();
                    Place(into, ref root, value);
                    Deepen(into, depth + anchored.Height - 1);
                    continue;
                case Scalar scalar:
                    Count(ref nodes, current);
                    value = ConvertScalar(scalar);
                    Place(into, ref root, value);
                    if (!scalar.Anchor.IsEmpty)
                    {
                        anchors[scalar.Anchor.Value] = new Anchored(value, 1, 1);
                    }

                    continue;
                default:
                    if (depth > MaxDepth)
                    {
                        throw Over(current, $"the manifest nests deeper than {MaxDepth} levels");
                    }

                    Count(ref nodes, current);
                    JContainer container = current is MappingStart ? new JObject() : new JArray();
                    Place(into, ref root, container);
                    Deepen(into, depth);
                    var anchor = ((NodeEvent)current).Anchor;
                    open.Push(new OpenCollection(container, path, anchor.IsEmpty ? null : anchor.Value, nodes, depth));
                    continue;
            }
        }

        return documents == 1 && root is not null
            ? root
            : throw new YamlException(Mark.Empty, Mark.Empty, "expected exactly one YAML document, found none");
    }

    private static void Count(ref int nodes, ParsingEvent current)
    {
        if (++nodes > MaxNodes)
        {
            throw Over(current, $"the manifest has more than {MaxNodes} nodes; a manifest needs far fewer");
        }
    }

    private static void Place(OpenCollection? into, ref JToken? root, JToken value)
    {
        switch (into)
        {
            case null:
                root = value;
                break;
            case { Container: JObject obj }:
                obj[into.Key ?? ""] = value;
                into.Key = null;
                break;
            default:
                ((JArray)into.Container).Add(value);
                break;
        }
    }

    private static void Deepen(OpenCollection? into, int depth)
    {
        if (into is not null)
        {
            into.Deepest = Math.Max(into.Deepest, depth);
        }
    }

    private static string Child(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    private static YamlException Over(ParsingEvent at, string message) => new(at.Start, at.End, message);

    // YAML 1.2 core schema: only plain (unquoted) scalars can be null, booleans or numbers.
    private static JValue ConvertScalar(Scalar scalar)
    {
        var text = scalar.Value;
        if (scalar.Style != ScalarStyle.Plain)
        {
            return new JValue(text);
        }

        return text switch
        {
            "" or "~" or "null" or "Null" or "NULL" => JValue.CreateNull(),
            "true" or "True" or "TRUE" => new JValue(true),
            "false" or "False" or "FALSE" => new JValue(false),
            _ when long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer) => new JValue(integer),
            _ when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) => new JValue(real),
            _ => new JValue(text),
        };
    }
}
