using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Isaac.Core.Dispatch;
using Isaac.Plugins;

namespace Isaac.Core.Internal;

/// <summary>Source-generated JSON for the envelope: no reflection at start-up, and one set of options everywhere.</summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    AllowTrailingCommas = true,
    ReadCommentHandling = JsonCommentHandling.Skip,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
[JsonSerializable(typeof(CommandRequest))]
[JsonSerializable(typeof(CommandResponse))]
[JsonSerializable(typeof(CommandResult))]
[JsonSerializable(typeof(ErrorCode))]
internal sealed partial class IsaacJson : JsonSerializerContext
{
    private static IsaacJson? _readable;

    /// <summary>For output people and scripts read: quotes and non-ASCII text are written as they are, not escaped.</summary>
    public static IsaacJson Readable => _readable ??= new IsaacJson(new JsonSerializerOptions(Default.Options) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
}
