using System.Globalization;
using Newtonsoft.Json.Linq;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Isaac.Core.Manifests;

/// <summary>
/// Turns a YAML document into the JSON the schema validator reads, remembering where in the
/// YAML each JSON path came from so that schema errors can name a line and column.
/// </summary>
internal static class YamlJson
{
    public static JToken Convert(YamlNode node, Dictionary<string, Mark> marks, string path = "")
    {
        marks.TryAdd(path, node.Start);
        switch (node)
        {
            case YamlMappingNode map:
                var obj = new JObject();
                foreach (var (key, value) in map.Children)
                {
                    var name = key is YamlScalarNode scalar ? scalar.Value ?? "" : key.ToString();
                    var childPath = path.Length == 0 ? name : $"{path}.{name}";
                    marks.TryAdd(childPath, key.Start);
                    obj[name] = Convert(value, marks, childPath);
                }
                return obj;
            case YamlSequenceNode seq:
                var array = new JArray();
                for (var i = 0; i < seq.Children.Count; i++)
                {
                    array.Add(Convert(seq.Children[i], marks, $"{path}[{i}]"));
                }
                return array;
            case YamlScalarNode scalar:
                return ConvertScalar(scalar);
            default:
                return JValue.CreateNull();
        }
    }

    // YAML 1.2 core schema: only plain (unquoted) scalars can be null, booleans or numbers.
    private static JValue ConvertScalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
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
