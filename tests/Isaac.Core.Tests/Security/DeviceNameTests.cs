using CsCheck;
using Isaac.Core.Devices;
using Isaac.Core.Hosting;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Security;

/// <summary>The device-name rules (docs/hub.md): a documented character set, reserved words, lower case.</summary>
public sealed class DeviceNameTests
{
    [Theory]
    [InlineData("laptop2", "laptop2")]
    [InlineData("Laptop2", "laptop2")]
    [InlineData("build-01.lab_a", "build-01.lab_a")]
    [InlineData("7", "7")]
    [InlineData("localhost", "localhost")]
    [InlineData("local2", "local2")]
    public void A_valid_name_is_accepted_in_lower_case(string name, string expected)
    {
        // Act
        var ok = DeviceName.TryNormalize(name, out var normalized, out var problem);

        // Assert
        Assert.True(ok, problem);
        Assert.Equal(expected, normalized);
    }

    [Theory]
    [InlineData("", "cannot be empty")]
    [InlineData(null, "cannot be empty")]
    [InlineData("lap top", "contains ' ' at position 4")]
    [InlineData("laptop/2", "contains '/'")]
    [InlineData("läptop", "contains 'ä'")]
    [InlineData("a\nb", "contains '\\u000a'")]
    [InlineData("-laptop", "must start with a letter or digit")]
    [InlineData(".hidden", "must start with a letter or digit")]
    [InlineData("local", "is reserved")]
    [InlineData("LOCAL", "is reserved")]
    [InlineData("Remote", "is reserved")]
    [InlineData("hub", "is reserved")]
    [InlineData("self", "is reserved")]
    [InlineData("all", "is reserved")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "64 characters long; the limit is 63")]
    public void An_invalid_or_reserved_name_is_refused_with_one_line_saying_why(string? name, string why)
    {
        // Act
        var ok = DeviceName.TryNormalize(name, out _, out var problem);

        // Assert
        Assert.False(ok);
        Assert.Contains(why, problem);
        Assert.DoesNotContain('\n', problem!);
    }

    [Theory]
    [InlineData("My-MacBook.local", "my-macbook.local")]
    [InlineData("WIN 10 (home)", "win-10--home-")]
    [InlineData("-weird", "weird")]
    [InlineData("LOCAL", "device-local")]
    [InlineData("", "device")]
    [InlineData("ÄÖÜ", "device")]
    public void A_host_name_that_is_not_a_valid_device_name_gives_a_valid_default(string host, string expected)
    {
        // Act
        var name = DeviceName.FromHostName(host);

        // Assert
        Assert.Equal(expected, name);
        Assert.True(DeviceName.TryNormalize(name, out _, out var problem), problem);
    }

    [Fact]
    public void Any_string_is_either_a_valid_name_or_refused_with_one_line_and_a_host_name_always_gives_a_valid_name()
    {
        // Arrange: random text, near-misses built from the allowed characters and a few bad ones, reserved words in any case.
        var near = Gen.Char["abcXYZ019-_. /\0\n\u00e9\u2028"].Array[0, 80].Select(chars => new string(chars));
        var reserved = Gen.OneOf([.. DeviceName.Reserved]).SelectMany(word => Gen.Bool.Array[word.Length].Select(upper =>
            new string(word.Select((c, i) => upper[i] ? char.ToUpperInvariant(c) : c).ToArray())));
        var names = Gen.OneOf(Gen.String, near, reserved);

        // Act and assert
        names.Sample(name =>
        {
            if (DeviceName.TryNormalize(name, out var normalized, out var problem))
            {
                Assert.Equal(name.ToLowerInvariant(), normalized);
                Assert.True(DeviceName.TryNormalize(normalized, out var again, out _) && again == normalized);
                Assert.DoesNotContain(normalized, DeviceName.Reserved);
            }
            else
            {
                Assert.False(string.IsNullOrWhiteSpace(problem));
                Assert.DoesNotContain('\n', problem);
                Assert.DoesNotContain('\r', problem);
                Assert.True(problem.Length < 300, problem);
            }

            var derived = DeviceName.FromHostName(name);
            Assert.True(DeviceName.TryNormalize(derived, out var kept, out var refused) && kept == derived, refused);
        }, time: 2);
    }

    [Theory]
    [InlineData("local")]
    [InlineData("lap top")]
    public void A_device_name_setting_that_breaks_the_rules_is_refused_naming_the_setting(string device)
    {
        // Act
        using var home = new TempDir();
        var ex = Assert.ThrowsAny<Exception>(() => IsaacSettings.Resolve(homeFlag: home.Path, deviceFlag: device));

        // Assert
        Assert.IsType<SettingsException>(ex);
        Assert.StartsWith("--device: Device name", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void A_device_name_setting_in_capitals_is_lower_cased()
    {
        // Act
        using var home = new TempDir();
        var settings = IsaacSettings.Resolve(homeFlag: home.Path, deviceFlag: "Laptop2");

        // Assert
        Assert.Equal("laptop2", settings.Device);
    }
}
