// Command-line parsing helpers.
#include "cli/options.h"

#include <iostream>

#include <boost/program_options/parsers.hpp>
#include <boost/program_options/variables_map.hpp>

#include "common/error.h"

namespace triseg::cli {

void add_config_options(po::options_description& desc, ConfigArgs& args) {
    auto add = desc.add_options();
    add("config,c", po::value(&args.config)->value_name("FILE"),
        "YAML config (e.g. configs/fmnist-vgg16.yaml); when omitted, the run folder's "
        "config.yaml snapshot is used");
    add("set,s", po::value(&args.sets)->composing()->value_name("KEY=VALUE"),
        "override one config key, e.g. --set train.epochs=2 (repeatable); the value is YAML");
    add("run-dir,r", po::value(&args.run_dir)->value_name("DIR"),
        "run folder for inputs and outputs (default: runs/<config file name>)");
}

bool parse_command_line(const std::string& command,
                        const std::string& summary,
                        po::options_description& desc,
                        const std::vector<std::string>& args) {
    desc.add_options()("help,h", "show this help and exit");
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(desc).run(), vm);
        if (vm.count("help")) {
            std::cout << "Usage: triseg " << command << " [options]\n\n"
                      << summary << "\n\n"
                      << desc << "\n";
            return false;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        TRISEG_THROW(ConfigError, "triseg " << command << ": " << e.what() << "; see `triseg "
                                            << command << " --help`");
    }
    return true;
}

} // namespace triseg::cli
