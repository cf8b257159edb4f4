using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;

namespace Isaac.Core.Wire;

/// <summary>
/// Reads hub wire records from untrusted JSON (request bodies, agent messages, the hub's answers). Nesting is
/// bounded by <see cref="HubJson"/>'s MaxDepth and sizes by the caller (Kestrel's body limit, the channel's message
/// limit). A missing field reads as null, exactly like an explicit null, so each record's own check
/// (<see cref="WireCheck"/>) names it; every other refusal is a <see cref="JsonException"/> whose message names
/// the field in plain words, never a .NET type.
/// </summary>
public static partial class WireJson
{
    /// <summary>How deep any hub message may nest. Real ones need 5 (an agent result's table row).</summary>
    public const int MaxDepth = 16;

    private static readonly JsonSerializerOptions _options = new(HubJson.Default.Options)
    {
        TypeInfoResolver = HubJson.Default.WithAddedModifier(type =>
        {
            foreach (var property in type.Properties)
            {
                property.IsRequired = false;
            }
        }),
    };

    /// <summary>How the reader sees <typeparamref name="T"/>.</summary>
    public static JsonTypeInfo<T> Type<T>() => (JsonTypeInfo<T>)_options.GetTypeInfo(typeof(T));

    /// <summary>One whole message.</summary>
    public static T? Deserialize<T>(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, Type<T>());
        }
        catch (JsonException ex)
        {
            throw Plain(ex, Type<T>());
        }
    }

    /// <summary>A request or response body.</summary>
    public static async ValueTask<T?> DeserializeAsync<T>(Stream json, CancellationToken cancellationToken = default)
    {
        try
        {
            return await JsonSerializer.DeserializeAsync(json, Type<T>(), cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            throw Plain(ex, Type<T>());
        }
    }

    // System.Text.Json words its errors for programmers ("could not be converted to Isaac.Core.Wire.RouteBody"); a
    // client of the hub needs the field, what it must be, and where in the text it is.
    private static JsonException Plain(JsonException ex, JsonTypeInfo root)
    {
        var field = ex.Path is { Length: > 1 } path ? path.TrimStart('$').TrimStart('.') : null;
        var at = ex.LineNumber is { } line ? $" (line {line + 1}, byte {ex.BytePositionInLine + 1})" : "";
        string reason;
        if (ex.Message.Contains("could not be converted", StringComparison.Ordinal))
        {
            var expected = Expected(At(root, ex.Path));
            reason = field is null ? $"the body must be {expected}" : $"'{field}' must be {expected}";
        }
        else
        {
            // Syntax and depth errors: the reader's own sentence is plain; only the location suffix is technical.
            var sentence = ex.Message.Split(" Path: ", 2)[0].Split(" LineNumber: ", 2)[0].Trim();
            reason = field is null ? sentence : $"at '{field}': {sentence}";
        }

        return new JsonException(reason + at, ex.Path, ex.LineNumber, ex.BytePositionInLine, ex);
    }

    // The contract at a JSON path such as $[2].unique_key or $.result.meta['a b'].
    private static JsonTypeInfo? At(JsonTypeInfo root, string? path)
    {
        var info = root;
        foreach (Match segment in Segment().Matches(path ?? ""))
        {
            var next = segment.Groups["name"].Success && info.Kind == JsonTypeInfoKind.Object
                ? info.Properties.FirstOrDefault(p => p.Name == segment.Groups["name"].Value)?.PropertyType
                : info.ElementType;
            if (next is null)
            {
                return null;
            }

            info = _options.GetTypeInfo(next);
        }

        return info;
    }

    private static string Expected(JsonTypeInfo? info)
    {
        var type = info is null ? null : Nullable.GetUnderlyingType(info.Type) ?? info.Type;
        return type switch
        {
            null => "another kind of value",
            _ when type == typeof(string) => "a string",
            _ when type == typeof(bool) => "true or false",
            _ when type == typeof(int) || type == typeof(long) => "a whole number in range",
            _ when type == typeof(double) => "a number",
            _ when type == typeof(DateTimeOffset) => "an ISO 8601 date and time",
            _ when info!.Kind == JsonTypeInfoKind.Enumerable => "a JSON array",
            _ => "a JSON object",
        };
    }

    [GeneratedRegex(@"\.(?<name>[^.\[]+)|\['(?<key>(?:[^']|'')*)'\]|\[(?<index>\d+)\]")]
    private static partial Regex Segment();
}
