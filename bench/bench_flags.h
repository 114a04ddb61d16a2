// BenchFlags: the bench programs' command lines on Boost.Program_options (one --help form, one
// message form for every bad value).
#pragma once

#include <cstdint>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "common/error.h"
#include "models/spec/model_options.h"

namespace triseg::bench {

/// Throws ConfigError (exit code 2 in the bench mains) pointing to --help.
[[noreturn]] inline void usage_error(const std::string& message) {
    throw ConfigError(message + " (see --help)");
}

/// vgg16 or vgg11, or a usage error.
inline models::ModelArch parse_arch(const std::string& flag, const std::string& text) {
    if (text == "vgg16") {
        return models::ModelArch::Vgg16;
    }
    if (text == "vgg11") {
        return models::ModelArch::Vgg11;
    }
    usage_error(flag + " must be one of vgg16, vgg11, got '" + text + "'");
}

/// The flags of one bench program. Each add_* binds a variable whose current value is the
/// default shown by --help; parse() fills them and checks integer lower bounds.
///
///     BenchFlags flags("bench_x", "What it measures.");
///     flags.add_int("rounds", opts.rounds, 1, "timed rounds");
///     if (!flags.parse(argc, argv)) return 0;   // --help was printed
class BenchFlags {
public:
    BenchFlags(std::string program, std::string summary)
        : program_(std::move(program)), summary_(std::move(summary)), desc_("Options") {
        desc_.add_options()("help,h", "print this help and exit");
    }

    /// An integer flag --name N with N >= lo.
    BenchFlags& add_int(const char* name, int64_t& value, int64_t lo, const std::string& help) {
        const std::string flag = std::string("--") + name;
        desc_.add_options()(name,
                            boost::program_options::value<int64_t>(&value)
                                ->default_value(value)
                                ->value_name("N")
                                ->notifier([flag, lo](int64_t v) {
                                    if (v < lo) {
                                        usage_error(flag +
                                                    " must be an integer >= " + std::to_string(lo) +
                                                    ", got '" + std::to_string(v) + "'");
                                    }
                                }),
                            help.c_str());
        return *this;
    }

    /// A switch --name (no value): sets `value` to true when given.
    BenchFlags& add_switch(const char* name, bool& value, const std::string& help) {
        desc_.add_options()(name, boost::program_options::bool_switch(&value), help.c_str());
        return *this;
    }

    /// A number flag --name X.
    BenchFlags& add_double(const char* name, double& value, const std::string& help) {
        desc_.add_options()(
            name,
            boost::program_options::value<double>(&value)->default_value(value)->value_name("X"),
            help.c_str());
        return *this;
    }

    /// A text flag --name VALUE (`value_name` for --help; an empty default is not shown).
    BenchFlags& add_string(const char* name,
                           std::string& value,
                           const char* value_name,
                           const std::string& help) {
        auto* v = boost::program_options::value<std::string>(&value)->value_name(value_name);
        if (!value.empty()) {
            v->default_value(value);
        }
        desc_.add_options()(name, v, help.c_str());
        return *this;
    }

    /// The one positional argument, stored in the option `name` (added with add_string).
    BenchFlags& positional(const char* name) {
        positional_.add(name, 1);
        return *this;
    }

    /// Parses argv. Returns false when --help was printed (exit 0).
    /// @throws ConfigError for an unknown flag, a missing or malformed value, or a bound.
    bool parse(int argc, char** argv) {
        namespace po = boost::program_options;
        try {
            po::store(
                po::command_line_parser(argc, argv).options(desc_).positional(positional_).run(),
                vm_);
            if (vm_.count("help") != 0) {
                print_help();
                return false;
            }
            po::notify(vm_);
        } catch (const po::error& e) {
            usage_error(e.what());
        }
        return true;
    }

    /// True when the flag was given on the command line (not just defaulted).
    bool given(const char* name) const {
        const auto it = vm_.find(name);
        return it != vm_.end() && !it->second.defaulted();
    }

    void print_help() const {
        std::cout << "Usage: " << program_ << " [options]\n\n" << summary_ << "\n\n" << desc_;
        std::cout.flush();
    }

private:
    std::string program_;
    std::string summary_;
    boost::program_options::options_description desc_;
    boost::program_options::positional_options_description positional_;
    boost::program_options::variables_map vm_;
};

/// Runs a bench's `body` (returning its exit code) and turns an exception into one line
/// "<program>: <message>" on stderr, with the triseg::Error's exit code (1 for others).
template <typename Body> int guarded_main(const char* program, Body&& body) {
    try {
        return body();
    } catch (const triseg::Error& e) {
        std::fprintf(stderr, "%s: %s\n", program, e.what());
        return e.exit_code();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", program, e.what());
        return 1;
    }
}

} // namespace triseg::bench
