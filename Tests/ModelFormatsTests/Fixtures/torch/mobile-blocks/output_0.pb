
Boutput_0JPpq…¼ù£’=LG¾ÜT¾o/>›JÃ<Un	¾~=¤@N>sÄ =¼†¼jÀ’=ÎcG¾aT¾÷R>‚Ã<M{	¾y)~=£gN>5¡=